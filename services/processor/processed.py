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
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from chassis.kafka.state import read_to_end
from chassis.settings import KafkaSettings
from processor.delivery import BatchTransaction
from processor.handler import Record


class ProcessedMarkers:
    """`versions` is what is committed: entity key -> last processed version."""

    def __init__(
        self, settings: KafkaSettings, topic: str, transaction: BatchTransaction, *, client: str
    ) -> None:
        self._settings = settings
        self._topic = topic
        self._transaction = transaction
        self._client = client
        self.versions: dict[str, int] = {}
        self._staged: dict[str, int] = {}
        self._loaded: set[int] = set()

    async def load(self, partitions: Iterable[int]) -> None:
        """Reads the marker partitions not read since this worker was last given them."""
        missing = set(partitions) - self._loaded
        if not missing:
            return
        found = await asyncio.to_thread(
            read_to_end, self._settings, self._topic, client=self._client, partitions=missing
        )
        for key, value in found.items():
            self._merge(key, int(value))
        self._loaded |= missing

    def forget(self, partitions: Iterable[int]) -> None:
        """A rebalance took these input partitions: read their markers again if they return,
        since another worker may have processed them meanwhile."""
        self._loaded -= set(partitions)

    def remember(self, record: Record, key: str, version: int) -> None:
        """Writes the marker into the batch's transaction; `versions` moves on `committed`."""
        self._transaction.send(
            self._topic, key=key, value=str(version).encode(), partition=record.partition
        )
        self._staged[key] = version

    def committed(self) -> None:
        """The batch's transaction is committed: its markers now count."""
        for key, version in self._staged.items():
            self._merge(key, version)
        self._staged.clear()

    def discard(self) -> None:
        """The batch's transaction is not committed: its markers never happened."""
        self._staged.clear()

    def _merge(self, key: str, version: int) -> None:
        known = self.versions.get(key)
        if known is None or version > known:
            self.versions[key] = version
