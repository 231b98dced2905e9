"""Store each event id once per process, however often and however concurrently it arrives.

Slack retries a delivery it did not see acknowledged in time, sometimes while the first
attempt is still being written. `RecentEvents` keeps one write in flight per event id (a
second arrival waits on the same write instead of starting another) and remembers the ids
Kafka confirmed, up to a bounded number and optionally for a bounded time, so a later retry
is acknowledged without a second record. Visma's signature carries no timestamp, so a
captured notification stays valid forever: remembering its id for a window makes a replay
cost neither storage nor a pull. The memory is per process and bounded: another replica, a
restart, or an id older than the memory can still store a duplicate, which is why the
record carries the event id and consumers de-duplicate by it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from enum import Enum


class Outcome(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"


class RecentEvents:
    """`capacity` ids at most, each for `window_seconds` after Kafka confirmed it (None:
    until the capacity pushes it out); `clock` is monotonic seconds."""

    def __init__(
        self,
        capacity: int,
        *,
        window_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError("the memory of recent event ids needs a capacity of at least 1")
        if window_seconds is not None and window_seconds <= 0:
            raise ValueError("the window of recent event ids must be positive")
        self._capacity = capacity
        self._window = window_seconds
        self._clock = clock
        # id -> when Kafka confirmed it; insertion order is confirmation order.
        self._stored: OrderedDict[str, float] = OrderedDict()
        self._writing: dict[str, asyncio.Future[None]] = {}

    def __len__(self) -> int:
        self._forget_expired()
        return len(self._stored)

    def __contains__(self, event_id: object) -> bool:
        self._forget_expired()
        return event_id in self._stored

    def _forget_expired(self) -> None:
        if self._window is None:
            return
        horizon = self._clock() - self._window
        while self._stored and next(iter(self._stored.values())) <= horizon:
            self._stored.popitem(last=False)

    async def store_once(self, event_id: str, write: Callable[[], Awaitable[None]]) -> Outcome:
        """Runs `write` unless this id is stored or being stored; raises what the write raised.

        A caller that stops waiting (a timeout) does not cancel the write: if Kafka confirms
        it later, the id is remembered and the sender's retry is acknowledged without
        writing again.
        """
        if event_id in self:
            return Outcome.DUPLICATE
        pending = self._writing.get(event_id)
        outcome = Outcome.DUPLICATE
        if pending is None:
            pending = asyncio.ensure_future(write())
            self._writing[event_id] = pending
            pending.add_done_callback(lambda done: self._settle(event_id, done))
            outcome = Outcome.STORED
        await asyncio.shield(pending)
        return outcome

    def _settle(self, event_id: str, done: asyncio.Future[None]) -> None:
        del self._writing[event_id]
        # Reading the exception also marks it retrieved when nobody awaits the write anymore.
        if done.cancelled() or done.exception() is not None:
            return
        self._stored[event_id] = self._clock()
        if len(self._stored) > self._capacity:
            self._stored.popitem(last=False)
