"""The cap on calls in flight to one provider account, and what it lets us measure.

Twilio answers 20429 once an account has too many requests in flight; keeping our own calls
under a configured cap makes that rare (the runner still waits out any 20429 that comes).
The cap also counts its calls and the seconds each held a slot, so the rate the cap allows
(`limit` / mean seconds per call) can be set against the rate achieved (calls over the span
from the first call to the last): their ratio is the share of the cap kept busy.

`admitted()` bounds the sends under way (ledger entry written, call waiting or running) to
twice the cap: enough that the next calls' PENDING entries are written while the current
calls run, few enough that a crash leaves at most that many SMS to look up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from prometheus_client import Counter, Gauge

CAP = Gauge("mlc_twilio_account_cap", "Calls the sink allows in flight at once", ["account"])
CALLS = Counter("mlc_twilio_calls_total", "Calls made through the account cap", ["account"])
CALL_SECONDS = Counter(
    "mlc_twilio_call_seconds_total", "Seconds calls held a slot of the cap", ["account"]
)
FIRST_CALL = Gauge("mlc_twilio_first_call_started", "Unix time the first call started", ["account"])
LAST_CALL = Gauge("mlc_twilio_last_call_ended", "Unix time the latest call ended", ["account"])


ADMITTED_PER_SLOT = 2


class AccountCap:
    """At most `limit` calls in flight to one account, whatever the recipients."""

    def __init__(
        self, limit: int, *, account: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1:
            raise ValueError("the concurrency cap must be at least 1")
        self.limit = limit
        self.account = account
        self._clock = clock
        self._slots = asyncio.Semaphore(limit)
        self._admitted = asyncio.Semaphore(ADMITTED_PER_SLOT * limit)
        self._started: list[float] = []
        self._begun = False
        CAP.labels(account).set(limit)

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Around one whole send (PENDING entry, call, DONE entry)."""
        async with self._admitted:
            yield

    async def __aenter__(self) -> None:
        await self._slots.acquire()
        if not self._begun:
            self._begun = True
            FIRST_CALL.labels(self.account).set_to_current_time()
        self._started.append(self._clock())

    async def __aexit__(self, *exc: object) -> None:
        # Slots are interchangeable: any start pairs with any end for the sum of durations.
        CALL_SECONDS.labels(self.account).inc(self._clock() - self._started.pop(0))
        CALLS.labels(self.account).inc()
        LAST_CALL.labels(self.account).set_to_current_time()
        self._slots.release()
