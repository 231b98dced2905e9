"""Inbound and outbound Kafka adapters: MondayColumnChanged records in, receipt commands out."""

from __future__ import annotations

import asyncio

from pydantic import ValidationError

from chassis.errors import PermanentError
from chassis.kafka.producer import Delivery, EventProducer, confirm
from chassis.kafka.record import Record
from chassis.serde import AvroSerde
from events.monday import MondayColumnChanged
from events.visma_writes import RecordPurchaseReceipt
from monday_receipts.desk import ReceiptDesk


class KafkaOutbox:
    """Sends each command to the Visma writer's topic; `flush` raises if Kafka did not take
    all of it, so the runner retries the change (the derived id makes a repeat harmless)."""

    def __init__(self, producer: EventProducer, serde: AvroSerde, topic: str) -> None:
        self._producer = producer
        self._serde = serde
        self._topic = topic
        self._sent: list[Delivery] = []

    def receipt(self, command: RecordPurchaseReceipt) -> None:
        value = self._serde.encode(command.SCHEMA, command.to_record())
        self._sent.append(self._producer.send(self._topic, key=command.key, value=value))

    async def flush(self) -> None:
        sent, self._sent = self._sent, []
        await asyncio.to_thread(confirm, sent)


class ChangeHandler:
    """The runner's handler: decode, delegate to the desk."""

    def __init__(self, desk: ReceiptDesk) -> None:
        self._desk = desk

    async def __call__(self, record: Record) -> None:
        try:
            change = MondayColumnChanged.from_record(record.value)
        except ValidationError as exc:
            raise PermanentError(f"not a monday column change: {exc.error_count()} errors") from exc
        await self._desk.handle(change)
