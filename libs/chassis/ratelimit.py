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

from chassis.key_waits import HoldKind, waiting_in_handler

__all__ = [
    "BudgetSnapshot",
    "Clock",
    "HourlyBudget",
    "LatencySpread",
    "ServerCount",
    "Sleep",
    "TokenBucket",
]

logger = logging.getLogger(__name__)

LATENCY_WINDOW = 20
"""Recent successful calls whose latency spread paces the next call (see `slot`)."""
LATENCY_SAMPLES = 5
"""Calls counted from their answer before the spread is trusted."""

COUNTED_SAMPLES = 20
"""Calls the server timed before the earliest of them is trusted as the floor: at start, many
keys call at once and the server counts all of them late, so a floor learned from the first
few would be too high, and the next calls, counted earlier, too close."""

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class ServerCount:
    """What a call may tell its pacing slot: when the server counted it, on the server's clock
    (Slack: the `ts` of the message it posted)."""

    def __init__(self) -> None:
        self.at: float | None = None

    def counted_at(self, server_time: float) -> None:
        self.at = server_time


class LatencySpread:
    """How late after their start a server counts the calls made to it, recently.

    It belongs to the server, not to one bucket: the Slack sink paces each channel with its own
    bucket, but every channel's calls go to the same Slack. Where the server says when it
    counted a call (`ServerCount`), `server time - start` is known up to a fixed clock offset,
    so the next call's refill may count from this call's start plus only how much later than
    the earliest recent one the server counted it: the round trip's answer half and the
    caller's own delays after the server counted no longer cost anything.
    """

    def __init__(self, window: int = LATENCY_WINDOW) -> None:
        self._latencies: deque[float] = deque(maxlen=window)
        self._delays: deque[float] = deque(maxlen=window)
        self._calls = 0
        self._counted = 0

    def margin(self, latency: float) -> float:
        """For a call the server did not time: records its latency; returns the spread of
        recent latencies, this call included, but never more than its own latency (counting
        from the answer is always safe: the server has counted the call by then). Until a
        few calls have shown their latency, the whole latency."""
        self._calls += 1
        if self._calls > 1:  # the first call opens a connection: its latency is no sample
            self._latencies.append(latency)
        if len(self._latencies) > LATENCY_SAMPLES:
            return min(latency, max(self._latencies) - min(self._latencies))
        return latency

    def counted_margin(self, delay: float, latency: float) -> float:
        """For a call the server timed, `delay` after its start (plus the clocks' offset):
        how much later than the earliest recent call it was counted, so a next call counted
        as early as that one still keeps the interval; the latency until enough are known."""
        self._delays.append(delay)
        self._counted += 1
        if self._counted > COUNTED_SAMPLES:
            return min(latency, max(0.0, delay - min(self._delays)))
        return latency


class TokenBucket:
    """`rate_per_second` tokens refill continuously up to `burst`; one call costs one token.

    Buckets that call one server share its `LatencySpread` (see `slot`)."""

    def __init__(
        self,
        rate_per_second: float,
        burst: int = 1,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        latency: LatencySpread | None = None,
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
        self._latency = latency or LatencySpread()
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
    async def slot(self) -> AsyncIterator[ServerCount]:
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
        opens a connection, is no measure of the rest). A call that reports when the server
        counted it (`ServerCount.counted_at`) is paced on that instead (see `LatencySpread`).
        """
        await self.acquire()
        started = self._clock()
        count = ServerCount()
        yield count
        # Only a call that answered normally tells the latency; after an error the caller
        # penalizes or retries.
        latency = max(0.0, self._clock() - started)
        self._calls += 1
        if self._calls == 1 and count.at is not None:
            # This key's first call may have opened a connection, or come in a burst of every
            # key's first calls that the server counted later than it will count the next: it
            # counts from its answer, and is no sample of the floor (a floor learned from such
            # calls is too high, and later calls counted below it came too close: CI saw it).
            margin = latency
        elif count.at is not None:
            margin = self._latency.counted_margin(count.at - started, latency)
        else:
            margin = self._latency.margin(latency)
            if self._calls == 1:
                margin = latency  # as above; the round-trip window skips only the first call
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
                reason = f"call budget spent ({self._limit} per {self._window:g} s)"
                with waiting_in_handler(HoldKind.BUDGET_HELD, reason, seconds=wait):
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
