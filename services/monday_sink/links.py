"""Tells the rest of the connector which Visma record a new item is (`MondayItemLinked`).

The processor keeps `monday.item.v1` (compacted, keyed board/item) as a table, so a status
change on an item (a purchase order marked received) can be traced back to its Visma order.
A link is published, and confirmed by Kafka, before the command's DONE entry: if the sink
dies in between, the redelivered command finds its item by Visma id and publishes the link
again (same key, same value: compaction keeps one).
"""

from __future__ import annotations

import asyncio
import logging

from chassis.kafka.producer import EventProducer, confirm
from chassis.serde import AvroSerde
from events.commands import CreateMondayItem
from events.monday import MondayItemLinked, VismaRecordRef

log = logging.getLogger(__name__)


class ItemLinks:
    def __init__(self, *, producer: EventProducer, serde: AvroSerde, topic: str) -> None:
        self._producer = producer
        self._serde = serde
        self._topic = topic

    async def __call__(self, command: CreateMondayItem, item_id: str) -> None:
        record = VismaRecordRef.parse(command.visma_id)
        if record is None or command.visma_id is None:
            log.warning("item not linked: its Visma id names no Visma record",
                        extra={"command_id": command.command_id, "visma_id": command.visma_id,
                               "item_id": item_id})  # fmt: skip
            return
        link = MondayItemLinked(
            tenant_id=command.tenant_id, board_id=command.board_id, item_id=item_id,
            visma_id=command.visma_id, entity_type=record.entity_type,
            entity_id=record.entity_id, company_id=record.company_id,
        )  # fmt: skip
        delivery = self._producer.send(
            self._topic, key=link.key, value=self._serde.encode(link.SCHEMA, link.to_record())
        )
        await asyncio.to_thread(confirm, [delivery])
