"""The Monday delivery ledger's record: which board item each CreateMondayItem command became.

The monday-sink writes one entry per command to a compacted topic keyed by command id
(partition p holds the entries of `sink.monday.v1` partition p): PENDING before the first
call that may create or change an item, DONE with the item id after. Because a board's
commands share one key (`tenant/board`), they share one partition, so the entries of that
partition also tell which item holds each Visma record of the board (`visma_id` -> item id):
a later version of the record updates that item instead of creating another.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from chassis.topics import TopicSpec
from events._avro import AvroModel

__all__ = ["STATE_MONDAY_LEDGER", "MondayAction", "MondayDelivery", "MondayDeliveryStatus"]

STATE_MONDAY_LEDGER = TopicSpec("state.monday-ledger.v1", partitions=6, compacted=True)
"""Compacted, key = command_id, value = MondayDelivery; partition p holds the entries of the
commands of `sink.monday.v1` partition p."""


class MondayDeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DONE = "DONE"


class MondayAction(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"


class MondayDelivery(AvroModel):
    SCHEMA = "io.mlconnector.state.MondayDelivery"

    command_id: str
    status: MondayDeliveryStatus
    tenant_id: str
    board_id: str
    at: datetime
    visma_id: str | None = None
    item_id: str | None = None
    action: MondayAction | None = None
    first_attempt_at: datetime | None = None
    attempts: int = 0
    entity_type: str | None = None
    entity_id: str | None = None
