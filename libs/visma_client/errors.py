"""Visma failures, each classed by whether a retry can help.

::

    VismaError (ConnectorError)
    ├── VismaRateLimited         RetryableError  429 after transport retries; retry_after
    ├── VismaUnavailable         RetryableError  5xx, network errors, unreadable replies
    ├── VismaPreconditionFailed  RetryableError  412: re-read the entity, then retry
    ├── VismaAuthError           PermanentError  403: these credentials may not do this
    │   └── VismaCredentialsRefused              token request refused, or 401 twice
    ├── VismaContractError       PermanentError  a reply that does not match our models
    │   └── VismaRecordIncomplete                one record lacks the fields of its id
    └── VismaRequestRejected     PermanentError  400/404/other 4xx, with Visma's message
"""

from __future__ import annotations

from chassis.errors import ConnectorError, PermanentError, RetryableError

__all__ = [
    "VismaAuthError",
    "VismaContractError",
    "VismaCredentialsRefused",
    "VismaError",
    "VismaPreconditionFailed",
    "VismaRateLimited",
    "VismaRecordIncomplete",
    "VismaRequestRejected",
    "VismaUnavailable",
]


class VismaError(ConnectorError):
    """Root of every error raised by `visma_client`."""


class VismaRateLimited(VismaError, RetryableError):
    """Visma still answered 429 after the transport's retries."""


class VismaUnavailable(VismaError, RetryableError):
    """Visma (or the network to it) failed; the same call may work later."""


class VismaPreconditionFailed(VismaError, RetryableError):
    """The If-Match ETag is stale: read the entity again, then retry the write."""


class VismaAuthError(VismaError, PermanentError):
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
