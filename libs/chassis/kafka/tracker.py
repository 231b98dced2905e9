"""Which offset of a partition may be committed while records finish out of order, and
whether this consumer still owns the partition.

Records of different keys finish in any order, so the committed offset may only move up to
the oldest record still unfinished: committing past it would lose that record on a crash.

Ownership ends when the partition is revoked (or lost, or the runner stops). A record of a
partition this consumer no longer owns is another consumer's now: it must not be handled
again here, and any wait it is in (a retry, a pacing slot) ends at once, so a rebalance
never waits out a Retry-After and never runs a handler twice.
"""

from __future__ import annotations

import asyncio
from collections import deque


class PartitionTracker:
    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._done: set[int] = set()
        self._next_commit: int | None = None
        self._committed: int | None = None
        self._owned = True
        self.lost = asyncio.Event()
        """Set (on the event loop) once ownership ended: waits race against it."""

    @property
    def owned(self) -> bool:
        return self._owned

    def disown(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Ends ownership now (from any thread) and wakes every wait on `lost`."""
        self._owned = False
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.lost.set()
        else:
            loop.call_soon_threadsafe(self.lost.set)

    def started(self, offset: int) -> None:
        if self._pending and offset <= self._pending[-1]:
            raise ValueError(f"offset {offset} arrived after {self._pending[-1]}")
        self._pending.append(offset)

    def finished(self, offset: int) -> None:
        self._done.add(offset)
        while self._pending and self._pending[0] in self._done:
            head = self._pending.popleft()
            self._done.discard(head)
            self._next_commit = head + 1

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def committable(self) -> int | None:
        """The offset to commit (the next one to read), or None when nothing new is done."""
        if self._next_commit is None or self._next_commit == self._committed:
            return None
        return self._next_commit

    def mark_committed(self, offset: int) -> None:
        self._committed = offset
