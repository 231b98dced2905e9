"""Which entity versions are processed: a compacted marker topic written in each batch's
transaction, and its committed content in memory.

A marker (entity key -> last_modified millis) goes into the same transaction as the commands
of that version, so the two become visible together: after a crash, an event whose marker is
committed is skipped, and one whose marker is not had none of its commands committed either.
Marker partition p holds the markers of input partition p (of every input topic), so a worker
reads only the marker partitions of the input partitions it owns, and it reads them again
after a rebalance took them and gave them back. The read is read_committed, up to the last
stable offset: a worker restarted under the same transactional.id has already aborted its
predecessor's open transaction when it reads.

The markers are bounded (`chassis.kafka.expiry`) by when they were WRITTEN, never by the
entity's version (its last-modified time): a marker written longer ago than the horizon (its
Kafka timestamp when read back, the processing clock's time when remembered) is tombstoned in
a batch's transaction and dropped from memory, and the markers of revoked partitions leave
memory. Whether a version without a marker may have had one that expired is decided by when
its input EVENT was written to its topic (the record's Kafka timestamp): the horizon exceeds
the input topics' retention and a marker is written after its event, so any event still in
the topic within `horizon - clock_margin` of its write time finds its marker. An event
written longer ago than that (records can outlive `retention.ms` by a segment, or an operator
changed retention) is skipped and audited, not routed; an old version published today (a
backfill of a new tenant's history, a record first seen now) is routed normally. A duplicate
published after its marker (a re-poll, a backfill run again) rewrites the marker when it was
written more than the clock margin after it, so the marker outlives that event as well. The
marker's value stays the entity's version, which orders versions and skips older ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from chassis.kafka.expiry import Expiry
from chassis.kafka.state import read_newest
from chassis.settings import KafkaSettings
from processor.delivery import BatchTransaction
from processor.handler import Record


class ProcessedMarkers:
    """`versions` is what is committed: entity key -> last processed version; `written` says
    when each key's newest marker was written (epoch millis), which is what expires."""

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        transaction: BatchTransaction,
        *,
        client: str,
        expiry: Expiry | None = None,
        sweep_every: timedelta = timedelta(minutes=10),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._topic = topic
        self._transaction = transaction
        self._client = client
        self._expiry = expiry or Expiry()
        self._sweep_every = sweep_every
        self._clock = clock
        self._last_sweep = clock()
        self.versions: dict[str, int] = {}
        self.written: dict[str, int] = {}
        self._partition_of: dict[str, int] = {}
        self._staged: dict[str, tuple[int, int, int]] = {}
        """Key -> (version, partition, written millis) written in the open transaction."""
        self._dropping: set[str] = set()
        """Keys tombstoned in the open transaction."""
        self._loaded: set[int] = set()

    async def load(self, partitions: Iterable[int]) -> None:
        """Reads the marker partitions not read since this worker was last given them;
        tombstones (in the batch's transaction) the markers found expired."""
        missing = set(partitions) - self._loaded
        if not missing:
            return
        found = await asyncio.to_thread(
            read_newest, self._settings, self._topic, client=self._client, partitions=missing
        )
        now = self._clock()
        for key, record in found.items():
            if record.value is None:
                continue
            if self._expiry.expired(_instant(record.timestamp_ms), now):
                self._tombstone(key, record.partition)
            else:
                self._merge(key, int(record.value), record.partition, record.timestamp_ms)
        self._loaded |= missing

    def sweep(self) -> None:
        """Tombstones the expired markers in the batch's transaction, at most once per
        `sweep_every`; they leave `versions` when the transaction is committed."""
        now = self._clock()
        if now - self._last_sweep < self._sweep_every:
            return
        self._last_sweep = now
        for key, written in list(self.written.items()):
            if self._expiry.expired(_instant(written), now):
                self._tombstone(key, self._partition_of[key])

    def beyond_horizon(self, record: Record) -> bool:
        """Whether an event without a marker may have had one that expired (not to be
        routed): it was written to its topic longer ago than the horizon less the clock
        margin. A record without a timestamp counts as new, as in `chassis.kafka.ledger`."""
        return record.timestamp_ms is not None and self._expiry.too_old(
            record.timestamp_ms, self._clock()
        )

    def outlive(self, record: Record, key: str, version: int) -> None:
        """A duplicate of the key's processed `version` was read: if it was written more than
        the clock margin after the marker, the marker is written again (same version) so it
        does not expire before this event could be replayed without it."""
        written = self.written.get(key)
        if written is None or key in self._staged:
            return
        now = _millis(self._clock())
        event = record.timestamp_ms if record.timestamp_ms is not None else now
        if event - written > self._expiry.clock_margin / timedelta(milliseconds=1):
            self.remember(record, key, version)

    def forget(self, partitions: Iterable[int]) -> None:
        """A rebalance took these input partitions: their markers leave memory and are read
        again if they return, since another worker may have processed them meanwhile."""
        gone = set(partitions)
        self._loaded -= gone
        for key in [k for k, p in self._partition_of.items() if p in gone]:
            del self._partition_of[key]
            self.versions.pop(key, None)
            self.written.pop(key, None)

    def remember(self, record: Record, key: str, version: int) -> None:
        """Writes the marker into the batch's transaction; `versions` moves on `committed`."""
        self._transaction.send(
            self._topic, key=key, value=str(version).encode(), partition=record.partition
        )
        self._staged[key] = (version, record.partition, _millis(self._clock()))

    def committed(self) -> None:
        """The batch's transaction is committed: its markers (and tombstones) now count."""
        for key in self._dropping:
            self.versions.pop(key, None)
            self.written.pop(key, None)
            self._partition_of.pop(key, None)
        for key, (version, partition, written) in self._staged.items():
            self._merge(key, version, partition, written)
        self._dropping.clear()
        self._staged.clear()

    def discard(self) -> None:
        """The batch's transaction is not committed: its markers never happened."""
        self._dropping.clear()
        self._staged.clear()

    def _tombstone(self, key: str, partition: int) -> None:
        self._transaction.send(self._topic, key=key, value=None, partition=partition)
        self._dropping.add(key)

    def _merge(self, key: str, version: int, partition: int, written: int) -> None:
        known = self.versions.get(key)
        if known is None or version > known:
            self.versions[key] = version
            self._partition_of[key] = partition
        self.written[key] = max(written, self.written.get(key, written))


def _instant(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)
