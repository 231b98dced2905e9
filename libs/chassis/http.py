"""Retry as an httpx transport layer, so every client gets the same policy for free.

Clients stay simple: they send one request and turn the final response into a typed
error. Backing off on 429/503 (and, when it is safe, on 5xx and network failures)
happens here, below the client, where it can be tested with `httpx.MockTransport` and
an injected sleep. After the last attempt the last response is returned unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = [
    "DEFAULT_RETRY",
    "SAFE_TO_REPEAT",
    "RetryCallback",
    "RetryPolicy",
    "RetryTransport",
    "Sleep",
    "build_async_client",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
RetryCallback = Callable[[int, int | None, float], None]
"""Called before each wait with (attempt that failed, HTTP status or None, wait seconds)."""

SAFE_TO_REPEAT = "chassis.safe_to_repeat"
"""Request extension key: set it to True on a non-idempotent request the server dedupes."""

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_SERVER_ERRORS = frozenset({500, 502, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times and how long to retry.

    `retry_statuses` are retried for every method: the server refused before doing work.
    `retry_server_errors` (500/502/504) and `retry_transport_errors` apply only to
    idempotent methods or requests marked with the `SAFE_TO_REPEAT` extension.
    A server `Retry-After` longer than `max_wait_seconds` ends the retries: waiting
    less than the server asked cannot help, so the caller gets the response instead.
    """

    max_attempts: int = 4
    base_delay_seconds: float = 0.5
    max_wait_seconds: float = 60.0
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 503}))
    retry_server_errors: bool = False
    retry_transport_errors: bool = True

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The wait after failed `attempt` (1-based) when the server named none:
        exponential, with full jitter, capped at `max_wait_seconds`."""
        ceiling = min(self.max_wait_seconds, self.base_delay_seconds * 2 ** (attempt - 1))
        return rng.uniform(0.0, ceiling)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay_seconds < 0 or self.max_wait_seconds < 0:
            raise ValueError("delays must not be negative")


DEFAULT_RETRY = RetryPolicy()


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


class RetryTransport(httpx.AsyncBaseTransport):
    """Wraps another async transport and retries transient failures with backoff."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        policy: RetryPolicy = DEFAULT_RETRY,
        sleep: Sleep = asyncio.sleep,
        on_retry: RetryCallback | None = None,
        rng: random.Random | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._sleep = sleep
        self._on_retry = on_retry
        self._rng = rng or random.Random()
        self._now = now

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        repeatable = _safe_to_repeat(request)
        attempt = 1
        while True:
            try:
                response = await self._inner.handle_async_request(request)
            except (httpx.TimeoutException, httpx.ConnectError):
                last = attempt >= self._policy.max_attempts
                if last or not (repeatable and self._policy.retry_transport_errors):
                    raise
                await self._wait(request, attempt, None, self._backoff(attempt))
                attempt += 1
                continue
            wait = self._wait_for(response, attempt=attempt, repeatable=repeatable)
            if wait is None:
                return response
            await response.aclose()
            await self._wait(request, attempt, response.status_code, wait)
            attempt += 1

    async def aclose(self) -> None:
        await self._inner.aclose()

    def _wait_for(
        self, response: httpx.Response, *, attempt: int, repeatable: bool
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to return this response."""
        status = response.status_code
        retryable = status in self._policy.retry_statuses or (
            repeatable and self._policy.retry_server_errors and status in _SERVER_ERRORS
        )
        if not retryable or attempt >= self._policy.max_attempts:
            return None
        hinted = parse_retry_after(response.headers.get("retry-after"), now=self._now())
        if hinted is None:
            return self._backoff(attempt)
        if hinted > self._policy.max_wait_seconds:
            return None
        return hinted

    def _backoff(self, attempt: int) -> float:
        return self._policy.backoff(attempt, self._rng)

    async def _wait(
        self, request: httpx.Request, attempt: int, status: int | None, wait: float
    ) -> None:
        logger.info(
            "retrying request",
            extra={
                "method": request.method,
                "url": str(request.url.copy_with(query=None)),
                "attempt": attempt,
                "status": status,
                "wait_seconds": round(wait, 3),
            },
        )
        if self._on_retry is not None:
            self._on_retry(attempt, status, wait)
        await self._sleep(wait)


def _safe_to_repeat(request: httpx.Request) -> bool:
    return request.method in _IDEMPOTENT_METHODS or bool(request.extensions.get(SAFE_TO_REPEAT))


CONNECTION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)


def build_async_client(
    base_url: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 30.0,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    sleep: Sleep = asyncio.sleep,
    on_retry: RetryCallback | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for `base_url`, with retries unless `retry` is None."""
    # Keep as many idle connections as may be open: a sink posting to 50 channels at once
    # would otherwise close and reopen 30 connections every round (httpx keeps 20 by default).
    inner = transport or httpx.AsyncHTTPTransport(limits=CONNECTION_LIMITS)
    if retry is not None:
        inner = RetryTransport(inner, policy=retry, sleep=sleep, on_retry=on_retry)
    return httpx.AsyncClient(base_url=base_url, transport=inner, timeout=timeout, headers=headers)
