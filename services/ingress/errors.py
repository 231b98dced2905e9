"""Why the ingress refuses a request, on the connector's one error tree.

A sender (Slack, Visma) repeats what was not answered 2xx, so the answer must say whether
repeating can help::

    ConnectorError
    ├── PermanentError
    │   └── RejectedNotificationError   4xx: this request will never be accepted as it is
    └── RetryableError
        └── NotAcceptingNowError        503 + Retry-After: the same request may succeed later
"""

from __future__ import annotations

from chassis.errors import PermanentError, RetryableError

RETRY_AFTER_SECONDS = 5


class RejectedNotificationError(PermanentError):
    """The request is not a notification we may act on; `status` is the 4xx answer."""

    def __init__(self, status: int, reason: str) -> None:
        if not 400 <= status < 500:
            raise ValueError(f"a rejection is a 4xx, not {status}")
        super().__init__(reason)
        self.status = status
        self.reason = reason


class NotAcceptingNowError(RetryableError):
    """The ingress cannot take this request now (not configured, busy); a retry may succeed."""

    status = 503

    def __init__(self, reason: str, *, retry_after: float = RETRY_AFTER_SECONDS) -> None:
        super().__init__(reason, retry_after=retry_after)
        self.reason = reason
