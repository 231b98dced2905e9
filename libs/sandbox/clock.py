"""A controllable clock shared by every simulator.

Token expiry, rate-limit windows and modification stamps all read this clock, so a test
or a demo can make a simulated hour pass in a moment: by jumping forward or by running
faster than real time. It only ever moves forward, which keeps rate limiters sane.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


class SandboxClock:
    """Real time by default; can be frozen (speed 0), accelerated or advanced."""

    def __init__(
        self,
        *,
        speed: float = 1.0,
        start: datetime | None = None,
        source: Callable[[], float] = time.time,
    ) -> None:
        if speed < 0:
            raise ValueError("clock speed must be >= 0")
        self._source = source
        self._real_anchor = source()
        self._sim_anchor = start.timestamp() if start is not None else self._real_anchor
        self._speed = speed

    @property
    def speed(self) -> float:
        return self._speed

    def time(self) -> float:
        """Simulated seconds since the epoch."""
        return self._sim_anchor + (self._source() - self._real_anchor) * self._speed

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock never goes backwards")
        self._sim_anchor += seconds

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("clock speed must be >= 0")
        # Re-anchor so the change applies from now on and simulated time stays continuous.
        current = self.time()
        self._real_anchor = self._source()
        self._sim_anchor = current
        self._speed = speed

    def snapshot(self) -> dict[str, object]:
        return {"now": self.now().isoformat(), "epoch": self.time(), "speed": self._speed}
