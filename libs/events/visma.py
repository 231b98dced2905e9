"""Facts read from Visma.net ERP: the envelope every entity shares, and supplier invoices.

Every Visma entity travels as `<Entity>Changed`: the same envelope (who, which record, which
version, when) plus one typed payload field named after the entity. The other entities live
in `visma_procurement`, `visma_sales`, `visma_ledger` and `visma_reference`; the registry of
all of them is `events.visma_entities.VISMA_EVENTS`.
"""

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


class VismaPayload(BaseModel):
    """Base of the typed records an event carries: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class VismaEntityChanged(AvroModel):
    """The envelope of every Visma fact; a subclass adds exactly one payload field."""

    event_id: str
    tenant_id: str
    company_id: str
    entity_type: str
    entity_id: str
    change_type: ChangeType
    last_modified: datetime
    etag: str | None = None
    observed_at: datetime

    @property
    def key(self) -> str:
        """The ordering domain of a fact: one entity in one company."""
        return f"{self.tenant_id}/{self.company_id}/{self.entity_type}/{self.entity_id}"

    @classmethod
    def canonical_type(cls) -> str:
        """The entity type this event carries (the default of `entity_type`)."""
        default = cls.model_fields["entity_type"].default
        if not isinstance(default, str):
            raise TypeError(f"{cls.__name__} does not name its entity type")
        return default

    @classmethod
    def payload_field(cls) -> str:
        """The name of the one field a subclass adds to the envelope."""
        added = [n for n in cls.model_fields if n not in VismaEntityChanged.model_fields]
        if len(added) != 1:
            raise TypeError(f"{cls.__name__} must add exactly one payload field, has {added}")
        return added[0]


class SupplierInvoiceLine(VismaPayload):
    """One line of a supplier invoice: what it cost, on which GL account and cost center."""

    line_number: int | None = None
    description: str | None = None
    amount: Decimal | None = None
    account_number: str | None = None
    subaccount: str | None = None
    """The line's subaccount: the cost center."""


class SupplierInvoice(VismaPayload):
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
    lines: list[SupplierInvoiceLine] = []
    """The invoice's lines (v2): the Airbase bill's expense lines come from them."""


class SupplierInvoiceChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.SupplierInvoiceChanged"

    entity_type: str = "supplierInvoice"
    invoice: SupplierInvoice
