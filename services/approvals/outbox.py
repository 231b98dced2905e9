"""Inbound and outbound Kafka adapters: SlackEventReceived records in, the desk's output out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pydantic import ValidationError

from approvals.desk import ApprovalDesk
from chassis.errors import PermanentError
from chassis.kafka.producer import Delivery, EventProducer, confirm
from chassis.kafka.record import Record
from chassis.serde import AvroSerde
from events._avro import AvroModel
from events.approvals import ApprovalSignal
from events.commands import ApplyVismaAction
from events.slack_events import SlackEventReceived


@dataclass(frozen=True)
class OutputTopics:
    signals: str
    actions: str


class KafkaOutbox:
    """Sends each output to its topic; `flush` raises if Kafka did not take all of what this
    outbox sent, so the runner retries the gesture (the derived ids make the repeat harmless)."""

    def __init__(self, producer: EventProducer, serde: AvroSerde, topics: OutputTopics) -> None:
        self._producer = producer
        self._serde = serde
        self._topics = topics
        self._sent: list[Delivery] = []
        """Sent and not yet confirmed. A gesture sends and flushes with no await between, so
        this holds one gesture's writes (and, at worst, another's whose repeat is harmless)."""

    def signal(self, signal: ApprovalSignal) -> None:
        self._send(self._topics.signals, signal.key, signal)

    def action(self, command: ApplyVismaAction) -> None:
        self._send(self._topics.actions, command.key, command)

    async def flush(self) -> None:
        sent, self._sent = self._sent, []
        await asyncio.to_thread(confirm, sent)

    def _send(self, topic: str, key: str, model: AvroModel) -> None:
        value = self._serde.encode(model.SCHEMA, model.to_record())
        self._sent.append(self._producer.send(topic, key=key, value=value))


class GestureHandler:
    """The runner's handler: decode, delegate to the desk."""

    def __init__(self, desk: ApprovalDesk) -> None:
        self._desk = desk

    async def __call__(self, record: Record) -> None:
        try:
            event = SlackEventReceived.from_record(record.value)
        except ValidationError as exc:
            raise PermanentError(f"not a Slack event: {exc.error_count()} errors") from exc
        await self._desk.handle(event)
