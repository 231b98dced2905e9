"""The root of every error the connector raises on purpose.

Each client package subclasses exactly one of the two branches below, so a caller
(the chassis runner, a sink) can decide between "retry later" and "dead-letter it"
without knowing which external system failed::

    ConnectorError
    ├── RetryableError   the same call may succeed later (429, 5xx, network)
    └── PermanentError   repeating the call unchanged cannot help (4xx, bad auth)
"""

from __future__ import annotations

__all__ = ["ConnectorError", "PermanentError", "RetryableError"]


class ConnectorError(Exception):
    """Root of all deliberate connector errors."""


class RetryableError(ConnectorError):
    """A later attempt may succeed; `retry_after` is the server's hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    """Repeating the same request cannot succeed; route it to a DLQ or a human."""
