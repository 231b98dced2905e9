"""Request bodies read within bounds, before any route sees them (an ASGI middleware).

Every route verifies a signature over the whole body, so the body must be read first, and
reading it is the one thing a stranger can make expensive. Here it is bounded three ways:
a declared (Content-Length) body over the limit is refused with 413 before a byte of it is
read; a streamed body is refused with 413 as soon as it passes the limit; and a body that
does not arrive within the read timeout is a 408. Across all requests, the bytes held at
once come out of one budget: a request that finds it spent gets a 503 with Retry-After,
since the same request can succeed once others are done. Routes then get the body already
in memory.

A refusal closes the connection, but closing a socket with unread data makes the kernel
reset it, and a client still sending then loses the answer. So, as web servers do with a
"lingering close", the status line goes out at once, then up to a few MiB or a second of
the rest is read and thrown away before the answer ends and the connection closes; a
sender of more than that may see the reset instead of the 413.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.errors import PermanentError
from ingress.answers import WEBHOOKS
from ingress.errors import NotAcceptingNowError, RejectedNotificationError

log = logging.getLogger(__name__)
BUSY_RETRY_AFTER_SECONDS = 1
LINGER_BYTES = 4 * 1024 * 1024
LINGER_SECONDS = 1.0
SOURCES = {"/webhooks/slack": "slack", "/webhooks/visma": "visma"}


class BodyBudget:
    """The request body bytes the ingress holds at once, across all requests."""

    def __init__(self, total_bytes: int) -> None:
        if total_bytes < 1:
            raise ValueError("the body budget needs at least one byte")
        self._total = total_bytes
        self._held = 0

    @property
    def held(self) -> int:
        return self._held

    def take(self, size: int) -> bool:
        if self._held + size > self._total:
            return False
        self._held += size
        return True

    def give_back(self, size: int) -> None:
        self._held -= size


class _ClientGoneError(PermanentError):
    """The client disconnected before its body arrived: nobody is left to answer."""


class BoundedBodies:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, budget: BodyBudget, read_timeout_seconds: float
    ) -> None:
        self._app = app
        self._max = max_body_bytes
        self._budget = budget
        self._timeout = read_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        held = _Held(self._budget)
        try:
            body = await self._read(scope, receive, held)
        except (RejectedNotificationError, NotAcceptingNowError) as exc:
            held.release()
            await _refuse(scope, receive, send, exc)
            return
        except _ClientGoneError:
            held.release()
            return
        try:
            await self._app(scope, _replay(body, receive), send)
        finally:
            held.release()

    async def _read(self, scope: Scope, receive: Receive, held: _Held) -> bytes:
        declared = _declared_length(scope)
        if declared is not None and declared > self._max:
            raise RejectedNotificationError(
                413, f"the body is {declared} bytes, over the limit of {self._max}"
            )
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self._timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _ClientGoneError
                    chunk: bytes = message.get("body", b"")
                    size += len(chunk)
                    if size > self._max:
                        raise RejectedNotificationError(
                            413, f"the body is over the limit of {self._max} bytes"
                        )
                    held.take(len(chunk))
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise RejectedNotificationError(
                408, f"the body did not arrive within {self._timeout:g} s"
            ) from None


class _Held:
    """What one request took from the budget, given back once."""

    def __init__(self, budget: BodyBudget) -> None:
        self._budget = budget
        self._size = 0

    def take(self, size: int) -> None:
        if not self._budget.take(size):
            raise NotAcceptingNowError(
                "too many request bodies in flight", retry_after=BUSY_RETRY_AFTER_SECONDS
            )
        self._size += size

    def release(self) -> None:
        self._budget.give_back(self._size)
        self._size = 0


def _declared_length(scope: Scope) -> int | None:
    """Content-Length as a number; a 400 when it is not one (h11 and httptools check it too,
    but the app must not depend on which server parsed the request)."""
    values = [value for name, value in scope["headers"] if name == b"content-length"]
    if not values:
        return None
    if len(set(values)) > 1:
        raise RejectedNotificationError(400, "conflicting Content-Length headers")
    raw = values[0].strip()
    if not raw.isdigit() or len(raw) > 19:
        raise RejectedNotificationError(400, "Content-Length is not a byte count")
    return int(raw)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, then the server's own messages (a disconnect)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    exc: RejectedNotificationError | NotAcceptingNowError,
) -> None:
    source = _source(scope)
    WEBHOOKS.labels(source, f"rejected_{exc.status}").inc()
    log.warning("request body refused", extra={"source": source, "reason": exc.reason})
    headers = {"Connection": "close"}
    if isinstance(exc, NotAcceptingNowError) and exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    answer = JSONResponse({"ok": False, "error": exc.reason}, exc.status, headers=headers)
    await send({"type": "http.response.start", "status": exc.status,
                "headers": answer.raw_headers})  # fmt: skip
    if exc.status != 408:  # a 408's sender has stopped sending
        await _discard_rest(receive)
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


async def _discard_rest(receive: Receive) -> None:
    """Reads and drops what the client is still sending, within the linger bounds."""
    dropped = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LINGER_SECONDS):
            while dropped <= LINGER_BYTES:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
                dropped += len(message.get("body", b""))


def _source(scope: Scope) -> str:
    """The counter's source label: a known route's, never text from the request path."""
    path: str = scope.get("path", "")
    return SOURCES.get(path, "other")
