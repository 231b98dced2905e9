"""A command ledger: the newest entry per command id, kept in a compacted topic.

A sink that calls an external system writes an entry before the call (PENDING) and after it
(DONE), so a redelivered command is recognised and a crash between the two is visible. Every
write is confirmed by Kafka before it returns: the entry must be durable before the call
(PENDING) or the offset commit (DONE) it guards.

The state stays bounded:

- Partitions line up. An entry is keyed by command id (compaction keeps its newest state) but
  written to the ledger partition of the same number as its command's partition, so the
  ledger topic has as many partitions as the command topic (`check_aligned`). When the runner
  assigns command partitions the ledger reads only those ledger partitions, and it forgets
  them when they are revoked. Keying the ledger by the command's key instead would align the
  partitions too, but compaction would then keep one entry per channel, not per command.
- Entries expire. An entry older than the horizon (`chassis.kafka.expiry`) is dropped from
  memory and a tombstone is written for it, so compaction removes it from the topic; a
  command older than the horizon is refused rather than looked up.

The entry is any Avro-mirrored model with a `command_id` and the time it was written; each
sink keeps its own fields while the loading, lookup, expiry and durable writing live here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from prometheus_client import Counter, Gauge

from chassis.errors import PermanentError
from chassis.kafka.expiry import CommandBeyondHorizonError, Expiry
from chassis.kafka.handling import current_handling
from chassis.kafka.producer import Delivery, EventProducer, confirm
from chassis.kafka.state import StateLoadError, read_newest
from chassis.serde import AvroSerde, SerdeError
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec

__all__ = ["CommandLedger", "LedgerEntry", "LedgerPartitionError", "check_aligned"]

TOMBSTONES_AT_ONCE = 10_000
"""Tombstones queued before waiting for them (librdkafka's queue holds 100,000 records)."""

ENTRIES = Gauge("mlc_ledger_entries", "Ledger entries held in memory", ["topic"])
EXPIRED = Counter("mlc_ledger_expired_total", "Ledger entries expired (tombstoned)", ["topic"])


class LedgerEntry(Protocol):
    """What the ledger needs of an entry model (an `events` AvroModel fits)."""

    SCHEMA: ClassVar[str]

    @property
    def command_id(self) -> str: ...

    @property
    def at(self) -> datetime: ...

    def to_record(self) -> dict[str, Any]: ...

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self: ...


EntryT = TypeVar("EntryT", bound=LedgerEntry)


class LedgerPartitionError(PermanentError):
    """The ledger cannot tell, or cannot hold, the partition of a command's entry."""


def check_aligned(ledger: TopicSpec, commands: TopicSpec) -> None:
    """The ledger topic must have one partition per command partition, number for number."""
    if ledger.partitions != commands.partitions:
        raise LedgerPartitionError(
            f"{ledger.name} has {ledger.partitions} partitions and {commands.name} "
            f"{commands.partitions}: a ledger partition holds the entries of the command "
            "partition of the same number, so they must be equal"
        )


class CommandLedger(Generic[EntryT]):
    """command_id -> newest entry of the assigned partitions, written through to the topic."""

    def __init__(
        self,
        entry_type: type[EntryT],
        *,
        topic: str,
        producer: EventProducer,
        serde: AvroSerde,
        client: str,
        expiry: Expiry | None = None,
        sweep_every: timedelta = timedelta(minutes=10),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_removed: Callable[[], object] | None = None,
    ) -> None:
        """`on_removed` is told when entries left memory (expired or revoked), so an index a
        sink builds from `entries()` can be rebuilt as bounded as the ledger."""
        self._on_removed = on_removed
        self._entry_type = entry_type
        self._topic = topic
        self._producer = producer
        self._serde = serde
        self._client = client
        self._expiry = expiry or Expiry()
        self._sweep_every = sweep_every
        self._clock = clock
        self._partitions: dict[int, dict[str, EntryT]] = {}
        """Ledger partition -> its entries; only the partitions assigned to this replica."""
        self._last_sweep = clock()

    def load(self, settings: KafkaSettings, partitions: Collection[int]) -> int:
        """Reads the entries of `partitions` (committed records), writes tombstones for the
        expired ones; returns how many live entries those partitions hold."""
        now = self._clock()
        loaded: dict[int, dict[str, EntryT]] = {p: {} for p in partitions}
        expired: list[tuple[str, int]] = []
        found = read_newest(settings, self._topic, client=self._client, partitions=partitions)
        for key, record in found.items():
            if record.value is None:  # a tombstone: the entry expired
                continue
            try:
                _, fields = self._serde.decode(record.value)
                entry = self._entry_type.from_record(fields)
            except (SerdeError, ValueError) as exc:
                # Going on without the entry could repeat an external call: refuse to start.
                raise StateLoadError(f"unreadable ledger entry {key} in {self._topic}") from exc
            if self._expiry.expired(entry.at, now):
                expired.append((key, record.partition))
            else:
                loaded[record.partition][key] = entry
        # In slices: a first load after a long stop can expire more entries than the
        # producer's queue holds.
        for start in range(0, len(expired), TOMBSTONES_AT_ONCE):
            confirm(self._tombstone(expired[start : start + TOMBSTONES_AT_ONCE]))
        self._partitions.update(loaded)
        self._count()
        return sum(len(entries) for entries in loaded.values())

    def forget(self, partitions: Iterable[int]) -> None:
        """The partitions were revoked: their next owner keeps their entries."""
        for partition in partitions:
            self._partitions.pop(partition, None)
        self._count()
        self._removed()

    def get(self, command_id: str) -> EntryT | None:
        """The command's entry; refuses a command older than the horizon that has none."""
        for entries in self._partitions.values():
            entry = entries.get(command_id)
            if entry is not None:
                return entry
        handled = current_handling()
        if (
            handled is not None
            and handled.timestamp_ms is not None
            and self._expiry.too_old(handled.timestamp_ms, self._clock())
        ):
            raise CommandBeyondHorizonError(
                f"command {command_id} was written more than {self._expiry.horizon} ago: its "
                "ledger entry may have expired, so it is not acted on (redrive it to force it)"
            )
        return None

    def entries(self) -> Iterable[EntryT]:
        """The newest entry of every command of the assigned partitions."""
        for entries in self._partitions.values():
            yield from entries.values()

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._partitions.values())

    async def write(self, entry: EntryT, *, partition: int | None = None) -> None:
        """Writes `entry` and returns once Kafka has confirmed it."""
        await self.write_all([entry], partition=partition)

    async def write_all(self, entries: Sequence[EntryT], *, partition: int | None = None) -> None:
        """Writes `entries` and waits for Kafka to confirm each (a batch of commands guarded
        by one call), to `partition` or else the partition of the command record being handled."""
        target = self._partition_for(partition)
        deliveries = [
            self._producer.send(
                self._topic,
                key=entry.command_id,
                value=self._serde.encode(entry.SCHEMA, entry.to_record()),
                partition=target,
            )
            for entry in entries
        ]
        written = {entry.command_id for entry in entries}
        expired = [(key, owner) for key, owner in self._due_expiry() if key not in written]
        deliveries += self._tombstone(expired)
        await asyncio.to_thread(confirm, deliveries)
        for key, owner in expired:
            self._partitions.get(owner, {}).pop(key, None)
        for entry in entries:
            self._partitions.setdefault(target, {})[entry.command_id] = entry
        self._count()
        if expired:
            self._removed()

    def _partition_for(self, partition: int | None) -> int:
        if partition is not None:
            return partition
        handled = current_handling()
        if handled is None:
            raise LedgerPartitionError(
                f"no partition for an entry in {self._topic}: write it while the runner "
                "handles its command, or name the command's partition"
            )
        return handled.partition

    def _due_expiry(self) -> list[tuple[str, int]]:
        """The expired entries of the owned partitions, at most once per `sweep_every` and
        at most `TOMBSTONES_AT_ONCE` (the rest at the next write)."""
        now = self._clock()
        if now - self._last_sweep < self._sweep_every:
            return []
        due = [
            (key, partition)
            for partition, entries in self._partitions.items()
            for key, entry in entries.items()
            if self._expiry.expired(entry.at, now)
        ]
        if len(due) <= TOMBSTONES_AT_ONCE:
            self._last_sweep = now
        return due[:TOMBSTONES_AT_ONCE]

    def _tombstone(self, expired: Sequence[tuple[str, int]]) -> list[Delivery]:
        EXPIRED.labels(self._topic).inc(len(expired))
        return [
            self._producer.send(self._topic, key=key, value=None, partition=partition)
            for key, partition in expired
        ]

    def _removed(self) -> None:
        if self._on_removed is not None:
            self._on_removed()

    def _count(self) -> None:
        ENTRIES.labels(self._topic).set(len(self))
