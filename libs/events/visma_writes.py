"""Commands that write a document into Visma, each handled by one handler of the Visma writer.

They travel on the writer's topic (`sink.visma-writer.v1`) next to `ApplyVismaAction`, keyed
by the Visma entity they write to, so that writes to one order or invoice apply in order.
Each says where the request came from (`source_system`, `source_ref`): the writer stamps
that reference on the document it creates, which is how an interrupted create is found in
Visma again instead of being created twice.
"""

from __future__ import annotations

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
