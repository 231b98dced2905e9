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

The markers are bounded (`chassis.kafka.expiry`): a marker whose version (the entity's
last-modified time) is older than the horizon is tombstoned in a batch's transaction and
dropped from memory, and the markers of revoked partitions leave memory. So that forgetting a
marker never lets a version be routed twice, the handler skips (audited) any version older
than the horizon less the clock margin that has no marker: the horizon is above the input
topics' retention, so only a backfill or an outage longer than the horizon brings such a
version, and then it is reported, not acted on.
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
    """`versions` is what is committed: entity key -> last processed version."""

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
        self._partition_of: dict[str, int] = {}
        self._staged: dict[str, tuple[int, int]] = {}
        """Key -> (version, partition) written in the open transaction."""
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
            version = int(record.value)
            if self._expiry.expired(_instant(version), now):
                self._tombstone(key, record.partition)
            else:
                self._merge(key, version, record.partition)
        self._loaded |= missing

    def sweep(self) -> None:
        """Tombstones the expired markers in the batch's transaction, at most once per
        `sweep_every`; they leave `versions` when the transaction is committed."""
        now = self._clock()
        if now - self._last_sweep < self._sweep_every:
            return
        self._last_sweep = now
        for key, version in list(self.versions.items()):
            if self._expiry.expired(_instant(version), now):
                self._tombstone(key, self._partition_of[key])

    def beyond_horizon(self, version: int) -> bool:
        """A version without a marker that may have had one (now expired): not to be routed."""
        return self._expiry.too_old(version, self._clock())

    def forget(self, partitions: Iterable[int]) -> None:
        """A rebalance took these input partitions: their markers leave memory and are read
        again if they return, since another worker may have processed them meanwhile."""
        gone = set(partitions)
        self._loaded -= gone
        for key in [k for k, p in self._partition_of.items() if p in gone]:
            del self._partition_of[key]
            self.versions.pop(key, None)

    def remember(self, record: Record, key: str, version: int) -> None:
        """Writes the marker into the batch's transaction; `versions` moves on `committed`."""
        self._transaction.send(
            self._topic, key=key, value=str(version).encode(), partition=record.partition
        )
        self._staged[key] = (version, record.partition)

    def committed(self) -> None:
        """The batch's transaction is committed: its markers (and tombstones) now count."""
        for key in self._dropping:
            self.versions.pop(key, None)
            self._partition_of.pop(key, None)
        for key, (version, partition) in self._staged.items():
            self._merge(key, version, partition)
        self._dropping.clear()
        self._staged.clear()

    def discard(self) -> None:
        """The batch's transaction is not committed: its markers never happened."""
        self._dropping.clear()
        self._staged.clear()

    def _tombstone(self, key: str, partition: int) -> None:
        self._transaction.send(self._topic, key=key, value=None, partition=partition)
        self._dropping.add(key)

    def _merge(self, key: str, version: int, partition: int) -> None:
        known = self.versions.get(key)
        if known is None or version > known:
            self.versions[key] = version
            self._partition_of[key] = partition


def _instant(version: int) -> datetime:
    """A marker's version is the entity's last-modified time in epoch milliseconds."""
    return datetime.fromtimestamp(version / 1000, tz=UTC)
