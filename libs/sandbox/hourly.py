"""Fixed one-hour windows per key on the sandbox clock, shared by the simulators' hourly limits.

A window opens at the key's first call and counts calls until an hour of sandbox time has
passed, then the next call opens a new one (BILL's and Airbase's window alignment is
UNCONFIRMED; this is the simple stand-in both use). A fast clock ages it like everything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.clock import SandboxClock

HOUR = 3600.0


@dataclass
class Window:
    start: float
    count: int = 0


class HourlyWindows:
    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock
        self._windows: dict[str, Window] = {}

    def current(self, key: str) -> Window:
        """The key's window now, a fresh one when its last is an hour old."""
        now = self._clock.time()
        window = self._windows.get(key)
        if window is None or now - window.start >= HOUR:
            window = self._windows[key] = Window(start=now)
        return window

    def seconds_left(self, key: str) -> float:
        """Sandbox seconds until the key's window closes."""
        return max(0.0, self.current(key).start + HOUR - self._clock.time())
