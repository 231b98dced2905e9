"""Why the ingress refuses a request: one error whose status is the HTTP answer."""

from __future__ import annotations


class RejectedNotificationError(Exception):
    """The request is not a notification we may act on; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
