"""Where reminders and digests keep their state, and the clock they read: both injectable.

The scheduled work (`processor.reminders`, `processor.digests`) is plain code over a
`PartitionedStore`: in production a faust table changelogged in Kafka (so a restart loses
nothing), in unit tests the `MemoryStore` below. Every write names the input partition its
key belongs to, because a timer has no current event to take it from; a replica only acts
on the keys of partitions it owns. Time comes from a `Clock`, so a test moves it forward
instead of sleeping through a period.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

Clock = Callable[[], datetime]
"""The current instant, timezone-aware."""

State = dict[str, Any]
"""A JSON-ready value: what the changelog carries."""


def system_clock() -> datetime:
    return datetime.now(UTC)


class PartitionedStore(Protocol):
    """A key-value table whose keys each live in one partition."""

    def get(self, key: str) -> State | None: ...

    def put(self, key: str, value: State, *, partition: int) -> Awaitable[object]:
        """Sets the value now; the result completes once the write is durable."""
        ...

    def delete(self, key: str, *, partition: int) -> Awaitable[object]: ...

    def owned(self) -> Iterable[tuple[str, State]]:
        """The entries of the partitions this replica owns (a snapshot: safe to write during)."""
        ...


class MemoryStore:
    """A `PartitionedStore` in a dict, owning every partition: for tests and tools."""

    def __init__(self) -> None:
        self.data: dict[str, State] = {}

    def get(self, key: str) -> State | None:
        return self.data.get(key)

    def put(self, key: str, value: State, *, partition: int) -> Awaitable[object]:
        self.data[key] = value
        return DONE

    def delete(self, key: str, *, partition: int) -> Awaitable[object]:
        self.data.pop(key, None)
        return DONE

    def owned(self) -> Iterable[tuple[str, State]]:
        return list(self.data.items())


class _Done:
    """An awaitable that is already complete: a write with nothing left to wait for."""

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


DONE: Awaitable[object] = _Done()
