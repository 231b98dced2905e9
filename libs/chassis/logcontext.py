"""The correlation id of the record being handled, carried in Kafka headers between services.

A source sets it when it reads a change; every service that handles a record derived from it
puts it back in context from the `correlation-id` header, so its log lines and audit events
can be joined across services.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

CORRELATION_HEADER = "correlation-id"
_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

Headers = Sequence[tuple[str, bytes | str | None]]


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def correlation_from_headers(headers: Headers | None) -> str | None:
    for name, value in headers or ():
        if name == CORRELATION_HEADER and value is not None:
            return value.decode() if isinstance(value, bytes) else value
    return None


def correlation_headers(correlation_id: str | None = None) -> list[tuple[str, bytes]]:
    cid = correlation_id or current_correlation_id() or new_correlation_id()
    return [(CORRELATION_HEADER, cid.encode())]


@contextmanager
def correlated(correlation_id: str | None) -> Iterator[str]:
    cid = correlation_id or new_correlation_id()
    token = _correlation_id.set(cid)
    try:
        yield cid
    finally:
        _correlation_id.reset(token)
