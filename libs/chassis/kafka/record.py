"""The record a handler receives (decoded value plus where it came from), and the two
things beyond success and failure a handler may answer: hold the record, or take several."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chassis.errors import ConnectorError, RetryableError
from chassis.kafka.tracker import PartitionTracker
from chassis.key_waits import HoldKind
from chassis.ratelimit import ServerCount

__all__ = ["Batching", "Held", "HoldKind", "PartitionRevoked", "Record"]


@asynccontextmanager
async def _unpaced() -> AsyncIterator[ServerCount]:
    yield ServerCount()


class PartitionRevoked(RetryableError):
    """The record's partition went to another consumer (or the runner stops) before its side
    effect: the record is let go here, unfinished, and the new owner handles it."""


@dataclass(frozen=True)
class Origin:
    """Where a record was first read: a record redriven from a DLQ (`redrive.<group>.v1`)
    is handled as the record at this position, whose redrive it is."""

    topic: str
    partition: int
    offset: int


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    raw: bytes
    headers: list[tuple[str, bytes]]
    schema: str = ""
    value: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    """Failed handler calls so far (holds and outages of the external system not counted)."""
    retry_deadline: float | None = None
    """`time.monotonic()` after which a failure dead-letters the record (see `out_of_time`)."""
    outages: int = 0
    """Calls in a row that met an unavailable external system (for the wait's backoff)."""
    held: bool = False
    calling: bool = False
    """A handler call for it is running now (a revoke lets such calls finish first)."""
    timestamp_ms: int | None = None
    """When the record was written (Kafka's timestamp), if the broker gives one."""
    paced: Callable[[], AbstractAsyncContextManager[ServerCount]] = _unpaced
    """`async with record.paced() as count:` around the side effect (the rate-limited call)
    waits for this key's turn and raises `PartitionRevoked` if the partition is no longer this
    consumer's; the handler's own work before it (a ledger write) does not eat the spacing.
    A handler whose server says when it counted the call reports it (`count.counted_at`)."""
    tracker: PartitionTracker | None = field(default=None, repr=False, compare=False)
    """The runner's tracker of the partition this record was fetched under."""
    origin: Origin | None = None
    """A redriven record's original position (its dead-letter headers say it); else None."""

    @property
    def source_topic(self) -> str:
        """The topic the record was written to first: for a redriven record, the original
        one (a handler that tells commands apart by topic uses this, not `topic`)."""
        return self.origin.topic if self.origin is not None else self.topic

    @property
    def source_partition(self) -> int:
        """The partition the record was written to first (its ledger partition)."""
        return self.origin.partition if self.origin is not None else self.partition

    @property
    def position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    @property
    def owned(self) -> bool:
        """Whether this consumer still owns the partition it fetched the record under."""
        return self.tracker is None or self.tracker.owned

    def out_of_time(self, now: float) -> bool:
        """Whether the record's retry budget is spent: one more failure dead-letters it."""
        return self.retry_deadline is not None and now >= self.retry_deadline


class Held(ConnectorError):
    """Raised by a handler that cannot go on until something outside changes (a revoked
    credential is replaced): the records are kept, neither retried on a timer nor
    dead-lettered, and not committed past. The runner waits for `released()` and then calls
    the handler again; on shutdown or a revoke it lets go and the records are redelivered.
    `kind` and `until` (when the hold ends, if known) are what `mlc status` shows of it.
    """

    def __init__(
        self,
        message: str,
        *,
        released: Callable[[], Awaitable[object]],
        kind: HoldKind = HoldKind.CREDENTIAL_HELD,
        until: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.released = released
        self.kind = kind
        self.until = until


BatchHandler = Callable[[list[Record]], Awaitable[None]]


@dataclass(frozen=True)
class Batching:
    """Lets one handler call take several queued records of one key (a digest).

    When a key's queue is longer than `queue_over`, the runner hands up to `max_records`
    records from its head to `handler` in one call, stopping at the first record that is
    not `foldable`. The call's outcome is every record's outcome (done, retried together,
    dead-lettered together), and each is committed like any other record.
    """

    handler: BatchHandler
    queue_over: int
    max_records: int
    foldable: Callable[[Record], bool] = lambda record: True
