"""Which command record is being handled, for the state written and read on its behalf.

A sink's ledger entry must land in the state partition that lines up with its command's
partition (so a rebalance reloads only the entries of the partitions it assigned), and a
command older than the ledger's horizon must not be looked up in a ledger that may have
forgotten it. The runner sets this context around every handler call, as it does the
correlation id, so no service passes partitions and timestamps through its own code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from chassis.kafka.record import Record

__all__ = ["Handling", "current_handling", "handling"]


@dataclass(frozen=True)
class Handling:
    topic: str
    partition: int
    timestamp_ms: int | None
    """When the oldest record of the call was written (the producer's clock), if Kafka says."""


_handling: ContextVar[Handling | None] = ContextVar("handling", default=None)


def current_handling() -> Handling | None:
    return _handling.get()


@contextmanager
def handling(records: Sequence[Record]) -> Iterator[Handling]:
    """The records of one handler call: one key, so one topic partition."""
    first = records[0]
    stamps = [r.timestamp_ms for r in records if r.timestamp_ms is not None]
    # A redriven record is handled as its original: its state lands in the original's partition.
    context = Handling(first.source_topic, first.source_partition, min(stamps) if stamps else None)
    token = _handling.set(context)
    try:
        yield context
    finally:
        _handling.reset(token)
