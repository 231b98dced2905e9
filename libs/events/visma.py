"""Facts read from Visma.net ERP."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from events._avro import AvroModel


class ChangeType(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class SupplierInvoice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    document_type: str
    reference_number: str
    status: str | None = None
    approval_status: str | None = None
    supplier_number: str | None = None
    supplier_name: str | None = None
    invoice_date: date | None = None
    due_date: date | None = None
    currency: str
    amount: Decimal
    vat_amount: Decimal | None = None
    balance: Decimal | None = None
    po_reference: str | None = None
    supplier_reference: str | None = None
    description: str | None = None


class SupplierInvoiceChanged(AvroModel):
    SCHEMA = "io.mlconnector.visma.SupplierInvoiceChanged"

    event_id: str
    tenant_id: str
    company_id: str
    entity_type: str = "supplierInvoice"
    entity_id: str
    change_type: ChangeType
    last_modified: datetime
    etag: str | None = None
    observed_at: datetime
    invoice: SupplierInvoice

    @property
    def key(self) -> str:
        """The ordering domain of a fact: one entity in one company."""
        return f"{self.tenant_id}/{self.company_id}/{self.entity_type}/{self.entity_id}"
