"""Client-side pacing, so we slow down before a server has to say 429.

`TokenBucket` paces short-term rates (Slack: about one message per second per channel).
`HourlyBudget` spends a fixed-window call allowance (Visma: N calls per hour per company)
and trusts the server's X-RateLimit-* headers whenever they are stricter than our count.
Both take an injectable clock and sleep so tests run instantly and deterministically.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

__all__ = ["BudgetSnapshot", "Clock", "HourlyBudget", "Sleep", "TokenBucket"]

logger = logging.getLogger(__name__)

LATENCY_WINDOW = 20
"""Recent successful calls whose latency spread paces the next call (see `slot`)."""
LATENCY_SAMPLES = 5
"""Calls counted from their answer before the spread is trusted."""

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """`rate_per_second` tokens refill continuously up to `burst`; one call costs one token."""

    def __init__(
        self,
        rate_per_second: float,
        burst: int = 1,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._rate = rate_per_second
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._blocked_until = float("-inf")
        self._lock = asyncio.Lock()
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._calls = 0

    def __repr__(self) -> str:
        return f"TokenBucket(rate_per_second={self._rate}, burst={int(self._burst)})"

    async def acquire(self) -> None:
        """Wait until a token is free, then take it. Callers are served in arrival order."""
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._blocked_until:
                    await self._sleep(self._blocked_until - now)
                    continue
                self._refill(now)
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / self._rate)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One token for one call, the refill counted from when the call *started*.

        Anchoring at the answer would add every call's latency to the gap, so the rate
        would fall as latency rises. Anchored at the start, the gap the server sees is the
        interval plus the difference in when it counted two calls after their start, which
        varies as much as the latency does: so the anchor moves on by the spread (slowest
        less fastest) of the latency of the recent successful calls, this one included, or
        by this call's latency when that is less (counting from the answer is always safe:
        the server has counted the call by then). A steady latency, however long, costs
        nothing; a jittery one costs its jitter, never more than its latency. Until a few
        calls have shown their latency, a call counts from its answer (the first one, which
        opens a connection, is no measure of the rest).
        """
        await self.acquire()
        started = self._clock()
        yield
        # Only a call that answered normally tells the latency; after an error the caller
        # penalizes or retries.
        latency = max(0.0, self._clock() - started)
        margin = latency  # counting from the answer is always safe: the server has seen it
        self._calls += 1
        if self._calls > 1:  # the first call opens a connection: its latency is no sample
            self._latencies.append(latency)
        if len(self._latencies) > LATENCY_SAMPLES:
            # This call's own latency included: if it was the slow one, the next waits.
            margin = min(margin, max(self._latencies) - min(self._latencies))
        self._updated = max(self._updated, started + margin)

    def penalize(self, seconds: float) -> None:
        """Push the next slot at least `seconds` out (after a 429 with Retry-After)."""
        until = self._clock() + max(0.0, seconds)
        if until > self._blocked_until:
            self._blocked_until = until
            # One call may go at the end of the penalty; the burst must be earned again.
            self._tokens = 1.0
            self._updated = until

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._updated = max(self._updated, now)


@dataclass(frozen=True, slots=True)
class BudgetSnapshot:
    """What is left of the current window, for metrics and `mlc status`."""

    limit: int
    remaining: int
    resets_in_seconds: float


class HourlyBudget:
    """A fixed-window allowance of `limit` calls per `window_seconds`."""

    def __init__(
        self,
        limit: int = 500,
        window_seconds: float = 3600.0,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._remaining = limit
        self._window_end = clock() + window_seconds
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"HourlyBudget(limit={self._limit}, window_seconds={self._window})"

    async def acquire(self) -> None:
        """Spend one call, waiting for the next window when this one is spent."""
        async with self._lock:
            while True:
                now = self._clock()
                self._roll(now)
                if self._remaining > 0:
                    self._remaining -= 1
                    return
                wait = self._window_end - now
                logger.warning("call budget spent", extra={"wait_seconds": round(wait, 3)})
                await self._sleep(wait)

    def observe(
        self,
        *,
        limit: int | None = None,
        remaining: int | None = None,
        reset_seconds: float | None = None,
    ) -> None:
        """Adopt the server's view (X-RateLimit-Limit/Remaining/Reset) where it is tighter."""
        now = self._clock()
        self._roll(now)
        if limit is not None and 0 < limit < self._limit:
            self._limit = limit
            self._remaining = min(self._remaining, limit)
        if remaining is not None and 0 <= remaining < self._remaining:
            self._remaining = remaining
            if reset_seconds is not None and reset_seconds >= 0:
                # The server's remaining count belongs to the server's window.
                self._window_end = now + reset_seconds

    def snapshot(self) -> BudgetSnapshot:
        now = self._clock()
        self._roll(now)
        return BudgetSnapshot(
            limit=self._limit,
            remaining=self._remaining,
            resets_in_seconds=max(0.0, self._window_end - now),
        )

    def _roll(self, now: float) -> None:
        if now >= self._window_end:
            self._remaining = self._limit
            self._window_end = now + self._window
