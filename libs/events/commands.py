"""Commands for the sinks other than Slack: SMS and email (Twilio), Monday, Airbase, Visma.

The processor turns one Visma fact into one command per rule target; each sink consumes its
own topic (`events.command_topics`) and drops a command whose id its ledger has seen. Every
command carries the same provenance as `PostSlackMessage`: tenant, rule, source event and
the entity key, so the audit trail can follow it from the fact to the delivery.
"""

from __future__ import annotations

import hashlib

from events.command_envelope import CommandEnvelope as _Command
from events.slack import PostSlackMessage
from events.visma_writes import (
    RecordPurchaseReceipt,
    RecordSupplierPayment,
    UpsertSupplier,
    UpsertSupplierInvoice,
)


class SendSms(_Command):
    SCHEMA = "io.mlconnector.sink.SendSms"

    to: str
    """E.164."""
    body: str
    """Already within the rule's segment budget (the processor measures GSM-7 / UCS-2)."""
    resend_of: str | None = None
    """An operator's resend: the command id of the alert sent again (v2)."""

    @property
    def key(self) -> str:
        """One recipient per command, so a retry never re-texts the others."""
        return self.to


class SendEmail(_Command):
    SCHEMA = "io.mlconnector.sink.SendEmail"

    to: list[str]
    subject: str
    body: str
    """The plain-text part, always sent."""
    html: str | None = None
    """The HTML part (v2), styled like the Slack message of the same facts; None: text only."""
    resend_of: str | None = None
    """An operator's resend: the command id of the email sent again (v2)."""

    @property
    def key(self) -> str:
        return self.tenant_id


class CreateMondayItem(_Command):
    """Create or update the item of one Visma record on a board (an upsert by `visma_id`)."""

    SCHEMA = "io.mlconnector.sink.CreateMondayItem"

    board_id: str
    group_id: str | None = None
    item_name: str
    body: str
    visma_id: str | None = None
    """The record's identity in the board's "Visma ID" column (v2): `company/entityType/
    entity id` (`1234567/supplierInvoice/Invoice:10042`), the same for every version of the
    record and unique within a tenant. None: no Visma record (a digest), always a new item."""
    fields: dict[str, str] = {}
    """The record as display strings by snake_case field name (v2): payload fields plus
    derived ones such as `days_overdue` (`processor.item_fields`). The sink's column mapping
    picks and renders them; a field it does not map is ignored."""

    @property
    def key(self) -> str:
        """Monday rate-limits per account; one board's items stay in order."""
        return f"{self.tenant_id}/{self.board_id}"


class SyncToAirbase(_Command):
    """Upsert the Airbase object of one Visma record (vendor, bill, purchase order, GL
    account or cost center): `payload_json` is the Visma fact's payload as the processor
    routed it, `entity_type` says which.

    The airbase-sink writes each object's `erp_reference_id` as the Visma key a write back
    needs (docs/airbase-sink.md): a vendor's is the supplier number, a bill's the supplier
    invoice's bare reference number (document type Invoice: the `invoice_ref_nbr` of the
    payment that pays it), an order's the order number, an account's its code, a
    department's the SUBACCOUNT value."""

    SCHEMA = "io.mlconnector.sink.SyncToAirbase"

    note: str
    payload_json: str

    @property
    def key(self) -> str:
        """One Airbase account per tenant: its writes apply in order, so a supplier's vendor
        goes before its invoice's bill when both come."""
        return self.tenant_id


class ApplyVismaAction(_Command):
    SCHEMA = "io.mlconnector.sink.ApplyVismaAction"

    company_id: str
    action: str
    comment: str
    reply_workspace: str | None = None
    """Where to tell the requester what Visma did (v2): a Slack thread, or null for no one."""
    reply_channel: str | None = None
    reply_thread_ts: str | None = None
    requested_by: str | None = None
    """The Slack user id whose gesture asked for the action, mentioned in the reply."""
    decision: str | None = None
    """`approve` or `reject`: the reply says "Approved by" or "Rejected by"."""

    @property
    def key(self) -> str:
        """Actions on one entity must apply in order: keyed like the fact itself."""
        return self.entity_id


class MarkAirbaseEntrySynced(_Command):
    """Mark an Airbase ledger entry as synced, with the Visma document that books it.

    The Visma writer sends it once a `RecordSupplierPayment` with `reply_to == "airbase"` is
    in Visma. Its `command_id` is derived from the payment command's
    (`mark_synced_command_id`), so a redelivered payment sends the same mark and the
    airbase-sink's ledger drops the repeat.
    """

    SCHEMA = "io.mlconnector.sink.MarkAirbaseEntrySynced"

    entry_id: str
    """The ledger entry's airbase_id."""
    visma_payment_number: str
    """The Visma payment's reference number: the entry's erp_reference_id once synced."""
    company_id: str

    @property
    def key(self) -> str:
        """One Airbase tenant's writes apply in order."""
        return self.tenant_id


def mark_synced_command_id(payment_command_id: str) -> str:
    """The id of the `MarkAirbaseEntrySynced` that follows the payment command
    `payment_command_id`: the same for every delivery of that command."""
    return hashlib.sha256(f"airbase-mark-synced|{payment_command_id}".encode()).hexdigest()


Command = (
    PostSlackMessage
    | SendSms
    | SendEmail
    | CreateMondayItem
    | SyncToAirbase
    | ApplyVismaAction
    | RecordPurchaseReceipt
    | UpsertSupplier
    | UpsertSupplierInvoice
    | RecordSupplierPayment
    | MarkAirbaseEntrySynced
)
"""Everything the processor can ask a sink to do."""
