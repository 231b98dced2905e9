"""A command ledger: the newest entry per command id, kept in a compacted topic.

A sink that calls an external system writes an entry before the call (PENDING) and after it
(DONE), so a redelivered command is recognised and a crash between the two is visible. The
ledger is read whole when partitions are assigned (the previous owner wrote to it), looked up
in memory, and every write is flushed before it returns: the entry must be durable before the
call (PENDING) or the offset commit (DONE) it guards.

The entry is any Avro-mirrored model with a `command_id`; each sink keeps its own fields
while the loading, lookup and durable writing live here once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from chassis.kafka.producer import EventProducer, confirm
from chassis.kafka.state import StateLoadError, read_to_end
from chassis.serde import AvroSerde, SerdeError
from chassis.settings import KafkaSettings

__all__ = ["CommandLedger", "LedgerEntry"]


class LedgerEntry(Protocol):
    """What the ledger needs of an entry model (an `events` AvroModel fits)."""

    SCHEMA: ClassVar[str]

    @property
    def command_id(self) -> str: ...

    def to_record(self) -> dict[str, Any]: ...

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self: ...


EntryT = TypeVar("EntryT", bound=LedgerEntry)


class CommandLedger(Generic[EntryT]):
    """command_id -> newest entry, rebuilt from the topic and written through to it."""

    def __init__(
        self,
        entry_type: type[EntryT],
        *,
        topic: str,
        producer: EventProducer,
        serde: AvroSerde,
        client: str,
    ) -> None:
        self._entry_type = entry_type
        self._topic = topic
        self._producer = producer
        self._serde = serde
        self._client = client
        self._entries: dict[str, EntryT] = {}

    def load(self, settings: KafkaSettings) -> int:
        """Reads the whole topic (committed records); returns how many commands it knows."""
        for key, value in read_to_end(settings, self._topic, client=self._client).items():
            try:
                _, record = self._serde.decode(value)
                self._entries[key] = self._entry_type.from_record(record)
            except (SerdeError, ValueError) as exc:
                # Going on without the entry could repeat an external call: refuse to start.
                raise StateLoadError(f"unreadable ledger entry {key} in {self._topic}") from exc
        return len(self._entries)

    def get(self, command_id: str) -> EntryT | None:
        return self._entries.get(command_id)

    def entries(self) -> Iterable[EntryT]:
        """The newest entry of every known command (for a sink's own indexes)."""
        return self._entries.values()

    async def write(self, entry: EntryT) -> None:
        """Writes `entry` and returns once Kafka has confirmed it."""
        await self.write_all([entry])

    async def write_all(self, entries: Sequence[EntryT]) -> None:
        """Writes `entries` with one flush (a batch of commands guarded by one call)."""
        deliveries = [
            self._producer.send(
                self._topic,
                key=entry.command_id,
                value=self._serde.encode(entry.SCHEMA, entry.to_record()),
            )
            for entry in entries
        ]
        await asyncio.to_thread(confirm, deliveries)
        for entry in entries:
            self._entries[entry.command_id] = entry
