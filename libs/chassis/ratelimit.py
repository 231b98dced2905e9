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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

__all__ = ["BudgetSnapshot", "Clock", "HourlyBudget", "Sleep", "TokenBucket"]

logger = logging.getLogger(__name__)

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
        """One token for one call, with the refill counted from when the call *ends*.

        A server counts a call when it handles it, somewhere between our send and its
        answer; counting from the answer keeps a slow call (a cold connection) from
        squeezing the gap before the next one below the limit.
        """
        await self.acquire()
        try:
            yield
        finally:
            self._updated = max(self._updated, self._clock())

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
