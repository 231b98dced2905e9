"""What the mapping reads from BILL and what it asks the Visma writer to do, as plain values.

The mapping's rules know nothing of Kafka or Avro: the inbound adapter turns the canonical
BILL events into `BillVendor` and `BillInvoice`, the outbound adapter turns `SupplierWrite`
and `InvoiceWrite` into the writer's `UpsertSupplier` and `UpsertSupplierInvoice`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class BillVendor:
    tenant_id: str
    organization_id: str
    vendor_id: str
    updated_time: datetime
    name: str
    tax_id: str | None = None
    """The vendor's organisation number (BILL's tax id)."""
    vat_number: str | None = None
    email: str | None = None
    currency: str | None = None
    address_lines: tuple[str, ...] = ()
    archived: bool = False


@dataclass(frozen=True)
class BillLine:
    amount: Decimal
    description: str | None = None
    gl_account_id: str | None = None
    department_id: str | None = None


@dataclass(frozen=True)
class BillInvoice:
    tenant_id: str
    organization_id: str
    bill_id: str
    vendor_id: str
    updated_time: datetime
    invoice_number: str
    invoice_date: date
    due_date: date | None
    currency: str
    amount: Decimal
    lines: tuple[BillLine, ...] = ()


@dataclass(frozen=True)
class SupplierWrite:
    """Create or update the Visma supplier of a BILL vendor (policy `create`)."""

    command_id: str
    tenant_id: str
    company_id: str
    vendor: BillVendor
    supplier_number: str | None = None
    """The existing supplier it was matched to (policy `match`); None: the writer's own."""


@dataclass(frozen=True)
class InvoiceLineWrite:
    amount: Decimal
    account_number: str
    cost_center: str | None
    description: str | None


@dataclass(frozen=True)
class InvoiceWrite:
    """Create or update the Visma supplier invoice of a BILL bill."""

    command_id: str
    tenant_id: str
    company_id: str
    bill: BillInvoice
    supplier_number: str | None
    """Known when the vendor was matched; None under `create`: the writer uses the supplier
    it made for the vendor (the commands share the vendor's key, so it exists by then)."""
    lines: tuple[InvoiceLineWrite, ...] = field(default=())
