"""What happens on monday.com boards that the connector acts on, and which item is which record.

Two facts, both keyed by `<board id>/<item id>` on topics of the same partition count, so an
item's changes and its link sit in the same partition number:

- `MondayColumnChanged` (`monday.column-change.v1`): a cell of an item changed. It comes from
  the ingress (a board webhook, `source="webhook"`) or from the scheduled reconciliation that
  reads the board's recently updated items (`source="reconciliation"`), because monday
  retries a webhook for 30 minutes only. The same change can therefore arrive more than once
  and by both paths: consumers act on the change's meaning (item, column, new value), never
  on the record, and derive the ids of what they produce from that meaning.
- `MondayItemLinked` (`monday.item.v1`, compacted): the Monday sink created an item for a
  Visma record. A consumer keeps it as a table to know which Visma record an item is.

The Visma record's identity as written in a board's "Visma ID" column is
`<company id>/<entity type>/<entity id>` (`VismaRecordRef`), unique within a tenant, with the
canonical entity id of the record's fact (`1234567/purchaseOrder/RegularOrder:PO-7`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from chassis.topics import TopicSpec
from events._avro import AvroModel
from events.visma_entities import VISMA_EVENTS

MONDAY_PARTITIONS = 6
MONDAY_COLUMN_CHANGES = TopicSpec("monday.column-change.v1", partitions=MONDAY_PARTITIONS)
MONDAY_ITEMS = TopicSpec("monday.item.v1", partitions=MONDAY_PARTITIONS, compacted=True)
"""Compacted, key = board id/item id, value = MondayItemLinked (the latest link of an item)."""

ChangeSource = Literal["webhook", "reconciliation"]
WEBHOOK: ChangeSource = "webhook"
RECONCILIATION: ChangeSource = "reconciliation"


def item_key(board_id: str, item_id: str) -> str:
    """The key of everything about one item: its changes and its link."""
    return f"{board_id}/{item_id}"


class MondayColumnChanged(AvroModel):
    SCHEMA = "io.mlconnector.monday.MondayColumnChanged"

    tenant_id: str
    account_id: str | None = None
    """The monday account (the webhook JWT's accountId); None when the webhook was unsigned."""
    board_id: str
    item_id: str
    column_id: str
    column_title: str | None = None
    column_type: str
    """monday's column type: status, text, numbers, date, ..."""
    value_text: str | None = None
    """The new value as a person reads it: a status's label, a text, a date; None: cleared."""
    previous_text: str | None = None
    """The value before, as `value_text`; None when unknown (reconciliation) or empty."""
    changed_at: datetime
    source: str
    """`webhook` or `reconciliation` (`ChangeSource`); a string so a new source is a value."""
    trigger_uuid: str
    """monday's triggerUuid for a webhook (a retry carries the same); for a reconciliation,
    an id derived from the item, the column, the value and the item's update time."""
    visma_id: str | None = None
    """The item's "Visma ID" column when the source read it (`VismaRecordRef` text)."""
    received_at: datetime

    @property
    def key(self) -> str:
        return item_key(self.board_id, self.item_id)


class MondayItemLinked(AvroModel):
    SCHEMA = "io.mlconnector.monday.MondayItemLinked"

    tenant_id: str
    board_id: str
    item_id: str
    visma_id: str
    """As written in the item's "Visma ID" column (`VismaRecordRef` text)."""
    entity_type: str
    """The canonical Visma entity type: purchaseOrder, supplierInvoice, ..."""
    entity_id: str
    """The canonical Visma entity id, as on the record's fact topic: a purchase order's is
    `<order type>:<order number>` (`RegularOrder:PO-2026-90001`)."""
    company_id: str

    @property
    def key(self) -> str:
        return item_key(self.board_id, self.item_id)


@dataclass(frozen=True)
class VismaRecordRef:
    """A Visma record as the "Visma ID" column names it: `<company>/<entity type>/<id>`."""

    company_id: str
    entity_type: str
    entity_id: str

    def __str__(self) -> str:
        return f"{self.company_id}/{self.entity_type}/{self.entity_id}"

    @classmethod
    def parse(cls, text: str | None) -> VismaRecordRef | None:
        """The record a "Visma ID" cell names, or None when it names none (empty, foreign)."""
        # A dimension's entity id has slashes of its own (`DEPARTMENT/1/SALES`): the entity
        # type, one Visma knows, says where the id starts.
        parts = (text or "").strip().split("/", 2)
        if len(parts) != 3 or not all(part.strip() for part in parts):
            return None
        company, entity_type, entity_id = (part.strip() for part in parts)
        if entity_type not in VISMA_EVENTS:
            return None
        return cls(company, entity_type, entity_id)
