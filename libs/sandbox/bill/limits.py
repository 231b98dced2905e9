"""BILL's request limits on the sandbox clock: calls an hour per devKey, calls in flight.

``HourlyCounter`` is a fixed one-hour window per key that opens at the key's first call
(the live window's alignment is UNCONFIRMED), used for API calls (``BDC_1144`` past
20,000) and for logins (200). ``ConcurrencyGate`` counts calls in flight per devKey and
organization and refuses the fourth (``BDC_1322``); it remembers the most ever in flight
so a test can check a client's own cap. A refused call counts nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sandbox.bill.errors import CONCURRENCY_LIMIT, BillApiError, ErrorCode
from sandbox.clock import SandboxClock
from sandbox.hourly import HourlyWindows


class HourlyCounter:
    def __init__(self, clock: SandboxClock, *, limit: int, error: ErrorCode, status: int) -> None:
        self.limit = limit
        self._error = error
        self._status = status
        self._windows = HourlyWindows(clock)
        self.total = 0

    def count(self, key: str) -> None:
        """Counts one call for `key`, or raises the limit's error when the hour is full."""
        window = self._windows.current(key)
        if window.count >= self.limit:
            raise BillApiError(self._error, status=self._status)
        window.count += 1
        self.total += 1

    def used(self, key: str) -> int:
        return self._windows.current(key).count


class ConcurrencyGate:
    def __init__(self, *, limit: int, status: int) -> None:
        self.limit = limit
        self._status = status
        self.in_flight: dict[tuple[str, str], int] = {}
        self.most_in_flight: dict[tuple[str, str], int] = {}

    @asynccontextmanager
    async def enter(self, dev_key: str, organization_id: str) -> AsyncIterator[None]:
        key = (dev_key, organization_id)
        running = self.in_flight.get(key, 0)
        if running >= self.limit:
            raise BillApiError(CONCURRENCY_LIMIT, status=self._status)
        self.in_flight[key] = running + 1
        self.most_in_flight[key] = max(running + 1, self.most_in_flight.get(key, 0))
        try:
            yield
        finally:
            self.in_flight[key] -= 1
