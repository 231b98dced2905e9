"""Visma failures, each classed by whether a retry can help.

::

    VismaError (ConnectorError)
    ├── VismaRateLimited         SystemUnavailable  429 after transport retries; retry_after
    ├── VismaUnavailable         SystemUnavailable  503, network errors, Visma Connect down
    ├── VismaServerError         RetryableError  500/502/504 and other 5xx, unreadable replies
    ├── VismaPreconditionFailed  RetryableError  412: re-read the entity, then retry
    ├── VismaAuthError           PermanentError  403: these credentials may not do this
    │   └── VismaCredentialsRefused              token request refused, or 401 twice
    ├── VismaContractError       PermanentError  a reply that does not match our models
    │   └── VismaRecordIncomplete                one record lacks the fields of its id
    └── VismaRequestRejected     PermanentError  400/404/other 4xx, with Visma's message

A 429 or a 503 says Visma (or the way to it) cannot take any call now, not that this request
is wrong: a consumer runner waits it out without spending the record's retry budget, so a
Visma outage never dead-letters an approved action. Any other 5xx may be this request's
fault (a 500 on every try), so it is retried within the budget like any retryable error.
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
    "VismaAuthError",
    "VismaContractError",
    "VismaCredentialsRefused",
    "VismaError",
    "VismaPreconditionFailed",
    "VismaRateLimited",
    "VismaRecordIncomplete",
    "VismaRequestRejected",
    "VismaServerError",
    "VismaUnavailable",
]


class VismaError(ConnectorError):
    """Root of every error raised by `visma_client`."""


class VismaRateLimited(VismaError, SystemUnavailable):
    """Visma still answered 429 after the transport's retries: it throttles, so wait."""


class VismaUnavailable(VismaError, SystemUnavailable):
    """Visma (or the network to it, or Visma Connect) is down: any call fails until it is back."""


class VismaServerError(VismaError, RetryableError):
    """Visma failed on this request (a 500, 502, 504, an unreadable reply); it may work later,
    but it may also fail every time, so it is retried within the record's budget."""


class VismaPreconditionFailed(VismaError, RetryableError):
    """The If-Match ETag is stale: read the entity again, then retry the write."""


class VismaAuthError(VismaError, CredentialRefused):
    """Credentials or tenant are wrong; retrying cannot fix it."""


class VismaCredentialsRefused(VismaAuthError):
    """Visma refuses the client credentials themselves (`invalid_client`, a token refused
    twice): nothing this client asks will work until someone replaces them."""


class VismaRequestRejected(VismaError, PermanentError):
    """Visma rejected the request itself (bad filter, unknown entity, invalid body)."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class VismaContractError(VismaError, PermanentError):
    """Visma answered, but not in the shape our models expect (an API change or a bug)."""


class VismaRecordIncomplete(VismaContractError):
    """One record lacks a field its id is made of; the rest of its page is still usable."""
