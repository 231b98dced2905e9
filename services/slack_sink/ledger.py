"""The delivery ledger: which Slack message each command became, by command id.

Before posting, each command is written PENDING; after Slack answers, DONE with the channel
id and ts (`events.deliveries.SinkDelivery`, compacted topic keyed by command id). A command
found DONE is never posted again. A command found PENDING is one whose post may or may not
have reached Slack (the sink died in between): the sink asks Slack, by the command ids it put
in the message metadata, before it posts again. The approvals service reads the same topic to
match a reaction on (channel_id, ts) back to the record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from chassis.kafka.producer import EventProducer
from chassis.kafka.state import read_to_end
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from events import PostSlackMessage
from events.deliveries import DeliveryStatus, SinkDelivery
from slack_client.models import PostedMessage

log = logging.getLogger(__name__)


class Ledger:
    def __init__(self, *, sink: str, topic: str, producer: EventProducer, serde: AvroSerde) -> None:
        self._sink = sink
        self._topic = topic
        self._producer = producer
        self._serde = serde
        self._entries: dict[str, SinkDelivery] = {}
        self._channel_ids: dict[str, str] = {}
        """Destination (`workspace/channel`) -> Slack's channel id, learned from posts."""

    def load(self, settings: KafkaSettings) -> int:
        """Reads the whole ledger topic; returns how many commands it knows."""
        stored = read_to_end(settings, self._topic, client=f"{self._sink}-ledger")
        for value in stored.values():
            _, record = self._serde.decode(value)
            self._remember(SinkDelivery.from_record(record))
        return len(self._entries)

    def get(self, command_id: str) -> SinkDelivery | None:
        return self._entries.get(command_id)

    def channel_id(self, destination: str) -> str | None:
        return self._channel_ids.get(destination)

    def was_digest(self, command_id: str) -> bool:
        entry = self._entries.get(command_id)
        return entry is not None and entry.digest

    def is_done(self, command_id: str) -> bool:
        entry = self._entries.get(command_id)
        return entry is not None and entry.status is DeliveryStatus.DONE

    async def pending(self, commands: Sequence[PostSlackMessage], *, digest: bool) -> None:
        await self._write(
            [self._entry(c, DeliveryStatus.PENDING, None, digest=digest) for c in commands]
        )

    async def done(
        self, commands: Sequence[PostSlackMessage], posted: PostedMessage, *, digest: bool
    ) -> None:
        await self._write(
            [self._entry(c, DeliveryStatus.DONE, posted, digest=digest) for c in commands]
        )

    def _entry(
        self,
        command: PostSlackMessage,
        status: DeliveryStatus,
        posted: PostedMessage | None,
        *,
        digest: bool,
    ) -> SinkDelivery:
        return SinkDelivery(
            command_id=command.command_id,
            sink=self._sink,
            status=status,
            destination=command.key,
            external_id=posted.ts if posted else None,
            at=datetime.now(UTC),
            channel_id=posted.channel if posted else None,
            ts=posted.ts if posted else None,
            tenant_id=command.tenant_id,
            company_id=command.company_id,
            entity_type=command.entity_type,
            entity_id=command.entity_id,
            rule=command.rule,
            digest=digest,
        )

    async def _write(self, entries: list[SinkDelivery]) -> None:
        for entry in entries:
            value = self._serde.encode(SinkDelivery.SCHEMA, entry.to_record())
            self._producer.send(self._topic, key=entry.command_id, value=value)
        # Entries must be durable before the post (PENDING) or the commit (DONE) they guard.
        await asyncio.to_thread(self._producer.flush)
        for entry in entries:
            self._remember(entry)

    def _remember(self, entry: SinkDelivery) -> None:
        self._entries[entry.command_id] = entry
        if entry.channel_id is not None:
            self._channel_ids[entry.destination] = entry.channel_id
