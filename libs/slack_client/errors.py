"""Slack failures, classed by whether a retry can help; `error` is Slack's own code.

::

    SlackError (ConnectorError)
    ├── SlackRateLimited      SystemUnavailable  HTTP 429 (retry_after), `ratelimited`
    ├── SlackUnavailable      SystemUnavailable  HTTP 503, network errors, service_unavailable
    ├── SlackServerError      RetryableError  other 5xx, internal_error, fatal_error, non-JSON
    ├── SlackChannelError     PermanentError  channel_not_found, not_in_channel, is_archived
    ├── SlackCredentialError  PermanentError  invalid_auth, token_revoked, missing_scope, ...
    └── SlackRequestError     PermanentError  any other ok:false (msg_too_long, no_text, ...)

Slack signals an outage or throttling with 429 and 503 (with or without Retry-After): the
runner waits those out at no cost to the record, for as long as they last. Any other server
failure (500, 502, 504, internal_error) may come from this request itself, so it is retried
only within the record's budget: a request that always gets a 500 must not hold its channel
forever.
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
    "SlackChannelError",
    "SlackCredentialError",
    "SlackError",
    "SlackRateLimited",
    "SlackRequestError",
    "SlackServerError",
    "SlackUnavailable",
]


class SlackError(ConnectorError):
    """Root of every error raised by `slack_client`."""

    def __init__(self, message: str, *, error: str) -> None:
        super().__init__(message)
        self.error = error


class SlackRateLimited(SlackError, SystemUnavailable):
    """Slack asked us to slow down; wait `retry_after` seconds when it is known."""

    def __init__(
        self, message: str, *, error: str = "ratelimited", retry_after: float | None = None
    ) -> None:
        super().__init__(message, error=error)
        self.retry_after = retry_after


class SlackUnavailable(SlackError, SystemUnavailable):
    """Slack (or the network to it) is down: no call works until it is back.
    `retry_after` is Slack's Retry-After, when it sent one."""

    def __init__(self, message: str, *, error: str, retry_after: float | None = None) -> None:
        super().__init__(message, error=error)
        self.retry_after = retry_after


class SlackServerError(SlackError, RetryableError):
    """Slack failed on this request (a 500, 502, 504, internal_error); it may work later, or
    fail every time, so it is retried within the record's budget, then dead-lettered."""


class SlackChannelError(SlackError, PermanentError):
    """The channel cannot take our message until a human fixes it (invite, unarchive)."""


class SlackCredentialError(SlackError, CredentialRefused):
    """The bot token is wrong, revoked or lacks a scope."""


class SlackRequestError(SlackError, PermanentError):
    """Slack rejected this particular request."""
