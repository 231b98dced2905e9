"""Airbase's hourly request budget per token, on the sandbox clock.

``X-Ratelimit-Limit: 500`` and ``X-Ratelimit-Remaining`` were recorded on live answers;
how the window runs is UNCONFIRMED: here a fixed hour opening at the token's first call
(as DRF's throttles count from the oldest call in the hour, a fixed window is the simpler
stand-in). Past the budget the answer is DRF's 429 with ``Retry-After`` in the real seconds
the rest of the window takes at the clock's speed. A refused call counts nothing.
"""

from __future__ import annotations

import math

from sandbox.airbase.errors import throttled
from sandbox.clock import SandboxClock
from sandbox.hourly import HourlyWindows


class HourlyBudget:
    def __init__(self, clock: SandboxClock, *, limit: int) -> None:
        self._clock = clock
        self.limit = limit
        self._windows = HourlyWindows(clock)
        self.total = 0
        self.refused = 0

    def spend(self, key: str) -> None:
        """Counts one call for ``key`` or raises DRF's 429 when the hour's budget is spent."""
        window = self._windows.current(key)
        if window.count >= self.limit:
            self.refused += 1
            left = self._windows.seconds_left(key)
            speed = self._clock.speed
            real = left / speed if speed > 0 else left
            raise throttled(max(1, math.ceil(real)))
        window.count += 1
        self.total += 1

    def remaining(self, key: str) -> int:
        return max(0, self.limit - self._windows.current(key).count)
