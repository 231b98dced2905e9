"""How many calls a tenant's pulls may make in an hour, and how far apart that spaces them.

Airbase allows a token a number of calls an hour (`X-Ratelimit-Limit`, 500 recorded) that the
poller shares with the airbase-sink, which writes with the same token. The poller gives its
pulls of a tenant `hourly_calls` of them: a pull's cost is what it called (pages, bills,
retries included: `CountingTransport` counts every request sent), scheduled pulls are spaced
so that the hour's pulls fit (`spacing`), and no pull starts, not even a webhook's, while the
calls of the last hour are spent (`wait_seconds`). The token's own `X-Ratelimit-Remaining`
is the other guard (`reserve_calls`, in `airbase_poller.pull`): it sees the sink's calls too.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import httpx

HOUR = 3600.0


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts every request sent through `inner` (the client's retries go through it too)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class CallAllowance:
    """`per_hour` calls in any hour (sliding), on the monotonic `clock`; `time_scale` runs it
    faster (a sandbox on a fast clock)."""

    def __init__(
        self,
        per_hour: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        time_scale: float = 1.0,
    ) -> None:
        if per_hour < 1:
            raise ValueError("a tenant's pulls need at least one call an hour")
        self.per_hour = per_hour
        self._hour = HOUR / time_scale
        self._clock = clock
        self._spent: deque[tuple[float, int]] = deque()

    def record(self, calls: int) -> None:
        """A pull just made `calls` calls."""
        if calls > 0:
            self._spent.append((self._clock(), calls))

    def spent(self) -> int:
        """Calls made in the last hour."""
        horizon = self._clock() - self._hour
        while self._spent and self._spent[0][0] <= horizon:
            self._spent.popleft()
        return sum(calls for _, calls in self._spent)

    def wait_seconds(self, cost: int) -> float:
        """How long until a pull of `cost` calls fits in the hour (0: now)."""
        excess = self.spent() + max(cost, 1) - self.per_hour
        if excess <= 0:
            return 0.0
        freed = 0
        for at, calls in self._spent:  # the oldest calls leave the hour first
            freed += calls
            if freed >= excess:
                return max(0.0, at + self._hour - self._clock())
        return self._hour  # one pull costs more than the hour allows: one an hour

    def spacing(self, cost: int) -> float:
        """Seconds between pulls of `cost` calls so that an hour of them fits."""
        return max(cost, 1) * self._hour / self.per_hour
