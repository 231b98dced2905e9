"""Twilio and SendGrid failures, classed by whether a retry can help.

::

    TwilioError (ConnectorError)            `code`: Twilio's error code (or the HTTP status)
    ├── TwilioTooManyRequests   SystemUnavailable  20429 / HTTP 429: too many concurrent
    │                                              requests; never processed, safe to repeat
    ├── TwilioUnavailable       SystemUnavailable  HTTP 503, or the connection never opened
    ├── TwilioServerError       RetryableError     other 5xx, a timeout, an unreadable answer:
    │                                              the request may or may not have been acted on
    ├── TwilioRecipientError    PermanentError     21211 invalid To, 21610 unsubscribed,
    │                                              21408 region not enabled
    ├── TwilioSenderError       PermanentError     21606 / 21659 the From cannot send there
    ├── TwilioAuthError         PermanentError     20003 (HTTP 401/403): the credential
    └── TwilioRequestError      PermanentError     any other 4xx

`refused` says the provider certainly did nothing with the request (a 429, a 4xx, a
connection that never opened), so a sender may try again without first looking for an
earlier copy. A timeout or a 5xx leaves that open: the message may exist.
"""

from __future__ import annotations

from chassis.errors import (
    ConnectorError,
    CredentialRefused,
    PermanentError,
    RetryableError,
    SystemUnavailable,
)

__all__ = [
    "PERMANENT_CODES",
    "TwilioAuthError",
    "TwilioError",
    "TwilioRecipientError",
    "TwilioRequestError",
    "TwilioSenderError",
    "TwilioServerError",
    "TwilioTooManyRequests",
    "TwilioUnavailable",
]


class TwilioError(ConnectorError):
    """Root of every error raised by `twilio_client`."""

    refused = True
    """The provider did nothing with the request (it is safe to send again without a look)."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        more_info: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.more_info = more_info
        self.detail = message
        """Twilio's own message (no credential in it)."""


class TwilioTooManyRequests(TwilioError, SystemUnavailable):
    """20429: the account has too many requests in flight; back off and repeat."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = 20429,
        status: int | None = 429,
        more_info: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status, more_info=more_info)
        self.retry_after = retry_after


class TwilioUnavailable(TwilioError, SystemUnavailable):
    """Twilio (or the network to it) is down: no call works until it is back."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        more_info: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status, more_info=more_info)
        self.retry_after = retry_after


class TwilioServerError(TwilioError, RetryableError):
    """Twilio failed or did not answer in time: the request may have been acted on."""

    refused = False


class TwilioRecipientError(TwilioError, PermanentError):
    """The recipient cannot get this message (invalid, unsubscribed, region not enabled)."""


class TwilioSenderError(TwilioError, PermanentError):
    """The configured sender (From or Messaging Service) cannot send to this recipient."""


class TwilioAuthError(TwilioError, CredentialRefused):
    """The account SID, API key or secret is wrong or lacks permission."""


class TwilioRequestError(TwilioError, PermanentError):
    """Twilio rejected this particular request."""


PERMANENT_CODES: dict[int, type[TwilioError]] = {
    21211: TwilioRecipientError,
    21610: TwilioRecipientError,
    21408: TwilioRecipientError,
    21606: TwilioSenderError,
    21659: TwilioSenderError,
    20003: TwilioAuthError,
}
"""Twilio's codes that no repeat of the same request can fix."""
