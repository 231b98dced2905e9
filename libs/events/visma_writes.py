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

from datetime import date, datetime
from decimal import Decimal

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


def vendor_key(tenant_id: str, company_id: str, source_system: str, vendor_id: str) -> str:
    """The Kafka key of every write that follows one source vendor: its supplier and its
    bills share it, so a bill is always applied after its vendor's supplier."""
    return f"{tenant_id}/{company_id}/vendor/{source_system}:{vendor_id}"


class UpsertSupplier(CommandEnvelope):
    """Create or update the Visma supplier that mirrors one vendor of a source system (BILL).

    `entity_type` is `supplier`; `entity_id` names the vendor, e.g.
    `tenant/company/supplier/bill:00901ABC`. Keyed by the vendor (`vendor_key`), like the
    vendor's bills. `supplier_number` is set when the vendor was matched (or linked) to an
    existing supplier: the writer then updates that one and never creates. Unset, the writer
    looks for the supplier it made before (by the source link, then the corporate or VAT id)
    and creates it only when there is none. The producer derives `command_id` from the
    vendor's version, so a repeated event is the same command.
    """

    SCHEMA = "io.mlconnector.sink.UpsertSupplier"

    company_id: str
    source_system: str
    """Where the vendor lives, e.g. `bill`."""
    source_id: str
    """The vendor's id there (a BILL vendor id)."""
    supplier_number: str | None = None
    """The Visma supplier it was matched to, when it was."""
    name: str
    vat_registration_id: str | None = None
    corporate_id: str | None = None
    """The organisation number."""
    currency_id: str | None = None
    email: str | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country_id: str | None = None
    """ISO 3166 alpha-2, e.g. DK."""

    @property
    def key(self) -> str:
        return vendor_key(self.tenant_id, self.company_id, self.source_system, self.source_id)


class SupplierInvoiceLineWrite(AvroModel):
    """One line of a supplier invoice as written: what, how much, on which GL account and
    cost center (the subaccount, mapped in the tenant's configuration)."""

    description: str
    amount: Decimal
    account_number: str
    subaccount: str | None = None
    """The Visma subaccount carrying the cost center, e.g. `100-20`."""


class UpsertSupplierInvoice(CommandEnvelope):
    """Create or update the Visma supplier invoice that mirrors one bill of a source system.

    `entity_type` is `supplierInvoice`; `entity_id` names the bill, e.g.
    `tenant/company/supplierInvoice/bill:00n01XYZ`. Keyed by the bill's VENDOR
    (`vendor_key`), so it is applied after the vendor's `UpsertSupplier`. The supplier is
    `supplier_number` when set, else the one the writer wrote for `source_vendor_id`; a bill
    whose supplier does not exist yet is not written (it waits, retryable, on its key).
    """

    SCHEMA = "io.mlconnector.sink.UpsertSupplierInvoice"

    company_id: str
    source_system: str
    source_id: str
    """The bill's id there (a BILL bill id)."""
    source_vendor_id: str
    supplier_number: str | None = None
    supplier_reference: str
    """The supplier's own invoice number (BILL's `invoice.number`): with the supplier, how
    the invoice is found in Visma again."""
    document_type: str = "Invoice"
    invoice_date: date
    due_date: date | None = None
    currency_id: str
    amount: Decimal
    description: str | None = None
    lines: list[SupplierInvoiceLineWrite]

    @property
    def key(self) -> str:
        return vendor_key(
            self.tenant_id, self.company_id, self.source_system, self.source_vendor_id
        )


class SupplierPaymentAllocation(AvroModel):
    """Where part of a supplier payment is booked: the GL account and the cost center
    (the subaccount, mapped from the source's department), never a default one."""

    amount: Decimal
    account_number: str
    subaccount: str | None = None
    """The Visma subaccount carrying the cost center, e.g. `100-20`."""
    description: str | None = None


def payment_reference(source_system: str, source_id: str) -> str:
    """The reference written on a payment, by which it is found in Visma again:
    `airbase:<entry id>` for an Airbase ledger entry."""
    return f"{source_system}:{source_id}"


class RecordSupplierPayment(CommandEnvelope):
    """Record in Visma a payment of one supplier invoice made in a source system (Airbase).

    `entity_type` is `supplierPayment`; `entity_id` names the source payment, e.g.
    `tenant/company/supplierPayment/airbase:<entry id>`. Keyed by the paid invoice, so the
    payments of one invoice apply in order. `payment_reference` (`airbase:<entry id>`) is
    written on the payment: the writer looks it up before any create, so a crash after
    Visma's 201 never pays twice. The producer derives `command_id` from the entry and its
    version (`source_version`): a repeated event is the same command, a new version of the
    same entry is a new command that updates the payment it made.
    """

    SCHEMA = "io.mlconnector.sink.RecordSupplierPayment"

    company_id: str
    source_system: str
    """Where the payment was made, e.g. `airbase`."""
    source_id: str
    """The payment's id there (an Airbase ledger entry's airbase_id)."""
    source_version: str
    """The version of the source record this command carries (a digest of its content)."""
    supplier_number: str
    invoice_ref_nbr: str
    """The reference number of the Visma supplier invoice it pays."""
    document_type: str = "Invoice"
    """The paid document's type in Visma."""
    payment_reference: str
    """Written on the payment; how it is found in Visma again (`airbase:<entry id>`)."""
    currency_id: str
    amount: Decimal
    payment_date: date
    allocations: list[SupplierPaymentAllocation]
    reply_to: str | None = None
    """`airbase`: once the payment is in Visma, the writer sends `MarkAirbaseEntrySynced`."""

    @property
    def key(self) -> str:
        """The payments of one invoice apply in order: keyed by the invoice."""
        return f"{self.tenant_id}/{self.company_id}/supplierInvoice/{self.invoice_ref_nbr}"


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
