"""Slack failures, classed by whether a retry can help; `error` is Slack's own code.

::

    SlackError (ConnectorError)
    ├── SlackRateLimited      SystemUnavailable  HTTP 429 (retry_after), `ratelimited`
    ├── SlackUnavailable      SystemUnavailable  5xx, network errors, internal_error, ...
    ├── SlackChannelError     PermanentError  channel_not_found, not_in_channel, is_archived
    ├── SlackCredentialError  PermanentError  invalid_auth, token_revoked, missing_scope, ...
    └── SlackRequestError     PermanentError  any other ok:false (msg_too_long, no_text, ...)
"""

from __future__ import annotations

from chassis.errors import ConnectorError, PermanentError, SystemUnavailable

__all__ = [
    "SlackChannelError",
    "SlackCredentialError",
    "SlackError",
    "SlackRateLimited",
    "SlackRequestError",
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
    """Slack or the network failed; the same call may succeed later."""


class SlackChannelError(SlackError, PermanentError):
    """The channel cannot take our message until a human fixes it (invite, unarchive)."""


class SlackCredentialError(SlackError, PermanentError):
    """The bot token is wrong, revoked or lacks a scope."""


class SlackRequestError(SlackError, PermanentError):
    """Slack rejected this particular request."""
