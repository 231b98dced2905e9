"""Many records, one SQLite transaction: the indexer's handler waits for its batch's commit.

The chassis runner calls the handler once per record and commits a record's offset once its
call returned. Each call hands its record to `GroupCommit.add` and returns only after the
transaction holding it committed, so an offset never moves past a record that is not on
disk; the calls of a batch wait together, so a million records make a thousand transactions,
not a million. A batch is written when it holds `max_records`, or `max_wait` seconds after
its first record, whichever comes first. If the write fails, every call of the batch raises
the failure and the runner tries each record again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from audit_index.index_file import IndexedRecord

__all__ = ["GroupCommit"]

Write = Callable[[Sequence[IndexedRecord]], int]


class GroupCommit:
    def __init__(self, write: Write, *, max_records: int, max_wait: float) -> None:
        self._write = write
        self._max_records = max_records
        self._max_wait = max_wait
        self._pending: list[IndexedRecord] = []
        self._done: asyncio.Future[int] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._writing = asyncio.Lock()
        self._commits: set[asyncio.Task[None]] = set()
        self.batches = 0

    async def add(self, record: IndexedRecord) -> None:
        """Returns once `record` is committed to the index (or raises why it is not)."""
        loop = asyncio.get_running_loop()
        if self._done is None:
            self._done = loop.create_future()
            self._timer = loop.call_later(self._max_wait, self._flush_soon)
        done = self._done
        self._pending.append(record)
        if len(self._pending) >= self._max_records:
            self._flush_soon()
        await asyncio.shield(done)

    def _flush_soon(self) -> None:
        if self._done is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        batch, done = self._pending, self._done
        self._pending, self._done, self._timer = [], None, None
        # Kept until it finishes (the loop holds tasks weakly); the waiting calls see its
        # outcome in `done`.
        task = asyncio.ensure_future(self._commit(batch, done))
        self._commits.add(task)
        task.add_done_callback(self._commits.discard)

    async def _commit(self, batch: list[IndexedRecord], done: asyncio.Future[int]) -> None:
        async with self._writing:  # one transaction at a time, in arrival order
            try:
                added = await asyncio.to_thread(self._write, batch)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting call, which raises it
                done.set_exception(exc)
                return
        self.batches += 1
        done.set_result(added)
