"""Sending one event to a topic and returning only once Kafka has it.

For a service that must not go on before its output is durable (a reply to tell, a conflict
to review, written before the ledger says DONE): one `send` per event, confirmed off the
event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Protocol

from chassis.kafka.producer import EventProducer, confirm
from chassis.serde import AvroSerde


class KeyedEvent(Protocol):
    """An event model: its schema's full name, its Kafka key and its Avro record."""

    SCHEMA: ClassVar[str]

    @property
    def key(self) -> str: ...

    def to_record(self) -> dict[str, Any]: ...


class ConfirmedTopic:
    """Sends each event to `topic` (keyed by its `key`) and waits for Kafka to take it."""

    def __init__(self, producer: EventProducer, serde: AvroSerde, topic: str) -> None:
        self._producer = producer
        self._serde = serde
        self._topic = topic

    async def send(self, event: KeyedEvent) -> None:
        value = self._serde.encode(event.SCHEMA, event.to_record())
        delivery = self._producer.send(self._topic, key=event.key, value=value)
        await asyncio.to_thread(confirm, [delivery])
