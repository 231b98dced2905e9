"""Commands that write a document into Visma, each handled by one handler of the Visma writer.

They travel on the writer's topic (`sink.visma-writer.v1`) next to `ApplyVismaAction`, keyed
by the Visma entity they write to, so that writes to one order or invoice apply in order.
Each says where the request came from (`source_system`, `source_ref`): the writer stamps
that reference on the document it creates, which is how an interrupted create is found in
Visma again instead of being created twice.

A write the writer finds in conflict with Visma's record is not forced: it goes, field by
field, to the review topic (`review.visma-writer.v1`) as a `VismaWriteConflict`.
"""

from __future__ import annotations

from datetime import datetime

from chassis.topics import TopicSpec
from events._avro import AvroModel
from events.command_envelope import CommandEnvelope


class RecordPurchaseReceipt(CommandEnvelope):
    """Record in Visma that the goods of a purchase order were received (one receipt).

    `entity_type` is `purchaseOrder` and `entity_id` the order's entity key, as on its fact
    topic: `tenant/company/purchaseOrder/RegularOrder:PO-2026-90001`. The producer derives
    `command_id` from the reporting change, so a repeated report is the same command.
    """

    SCHEMA = "io.mlconnector.sink.RecordPurchaseReceipt"

    company_id: str
    order_number: str
    """The purchase order's number in Visma (`orderNbr`), e.g. PO-2026-90001."""
    source_system: str
    """Where the receipt was reported, e.g. `monday`."""
    source_ref: str
    """The reporting record in that system, e.g. `<board id>/<item id>`."""
    requested_by: str | None = None
    """Who reported it there (a user id or name), for the audit trail."""

    @property
    def key(self) -> str:
        """Writes to one order apply in order: keyed like the order's fact."""
        return self.entity_id


class FieldDifference(AvroModel):
    """One field whose value in Visma is not what the write expected to find."""

    field: str
    expected: str
    found: str


class VismaWriteConflict(AvroModel):
    """A write the writer did not make because the record in Visma changed in a way that
    conflicts with it: for a person to review, field by field, instead of an overwrite."""

    SCHEMA = "io.mlconnector.review.VismaWriteConflict"

    command_id: str
    command: str
    """The command's kind, e.g. RecordPurchaseReceipt."""
    tenant_id: str
    company_id: str
    entity_type: str
    entity_id: str
    """The written entity's key (also the record's Kafka key)."""
    document: str
    """The Visma record as a person knows it, e.g. purchase order PO-2026-90001."""
    reason: str
    differences: list[FieldDifference]
    etag: str | None = None
    """The ETag of the version that was compared."""
    rule: str
    source_event_id: str
    detected_at: datetime

    @property
    def key(self) -> str:
        return self.entity_id


REVIEW_VISMA_WRITER = TopicSpec("review.visma-writer.v1", partitions=6)
"""Conflicts the writer found instead of writing (`VismaWriteConflict`), keyed by entity."""
