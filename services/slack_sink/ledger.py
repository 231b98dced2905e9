"""The delivery ledger: what this sink has posted, by command id, in a compacted topic.

Before posting, a command is written PENDING; after Slack answers, DONE with the message ts.
A command found DONE is never posted again. A command found PENDING is one whose post may or
may not have reached Slack (the sink died in between): the sink asks Slack, by the command id
it put in the message metadata, before it posts again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from chassis.kafka.producer import EventProducer
from chassis.kafka.state import read_to_end
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings

SCHEMA = "io.mlconnector.state.SinkDelivery"
log = logging.getLogger(__name__)


class Status(StrEnum):
    PENDING = "PENDING"
    DONE = "DONE"


@dataclass(frozen=True)
class Delivery:
    command_id: str
    status: Status
    destination: str
    external_id: str | None


class Ledger:
    def __init__(self, *, sink: str, topic: str, producer: EventProducer, serde: AvroSerde) -> None:
        self._sink = sink
        self._topic = topic
        self._producer = producer
        self._serde = serde
        self._entries: dict[str, Delivery] = {}

    def load(self, settings: KafkaSettings) -> int:
        """Reads the whole ledger topic; returns how many commands it knows."""
        for key, value in read_to_end(settings, self._topic, client=f"{self._sink}-ledger").items():
            _, record = self._serde.decode(value)
            self._entries[key] = Delivery(
                record["command_id"],
                Status(record["status"]),
                record["destination"],
                record["external_id"],
            )
        return len(self._entries)

    def get(self, command_id: str) -> Delivery | None:
        return self._entries.get(command_id)

    async def pending(self, command_id: str, destination: str) -> None:
        await self._write(Delivery(command_id, Status.PENDING, destination, None))

    async def done(self, command_id: str, destination: str, external_id: str) -> None:
        await self._write(Delivery(command_id, Status.DONE, destination, external_id))

    async def _write(self, delivery: Delivery) -> None:
        value = self._serde.encode(
            SCHEMA,
            {
                "command_id": delivery.command_id,
                "sink": self._sink,
                "status": delivery.status.value,
                "destination": delivery.destination,
                "external_id": delivery.external_id,
                "at": datetime.now(UTC),
            },
        )
        self._producer.send(self._topic, key=delivery.command_id, value=value)
        # The entry must be durable before the post (PENDING) or the commit (DONE) it guards.
        await asyncio.to_thread(self._producer.flush)
        self._entries[delivery.command_id] = delivery
