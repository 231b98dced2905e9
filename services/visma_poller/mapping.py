"""From Visma's wire model to the canonical event: the one place that knows both shapes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from events import ChangeType, SupplierInvoice, SupplierInvoiceChanged
from visma_client.models import SupplierInvoiceDto
from visma_poller.cursor import version_of

ENTITY_TYPE = "supplierInvoice"


class UnusableRecordError(Exception):
    """A record Visma returned lacks what every event needs (an id, a change time)."""


def supplier_invoice_event(
    dto: SupplierInvoiceDto, *, tenant_id: str, company_id: str, observed_at: datetime
) -> SupplierInvoiceChanged:
    modified = dto.last_modified_date_time
    if modified is None:
        raise UnusableRecordError(f"supplier invoice {dto.reference_number} has no lastModified")
    document_type = dto.document_type or "Invoice"
    entity_id = f"{document_type}:{dto.reference_number}"
    created = dto.created_date_time
    return SupplierInvoiceChanged(
        event_id=f"{tenant_id}/{company_id}/{ENTITY_TYPE}/{version_of(entity_id, modified)}",
        tenant_id=tenant_id,
        company_id=company_id,
        entity_type=ENTITY_TYPE,
        entity_id=entity_id,
        change_type=ChangeType.CREATED if created == modified else ChangeType.UPDATED,
        last_modified=modified,
        etag=dto.time_stamp,
        observed_at=observed_at,
        invoice=SupplierInvoice(
            document_type=document_type,
            reference_number=dto.reference_number,
            status=dto.status,
            approval_status=dto.approval_status,
            supplier_number=dto.supplier.number if dto.supplier else None,
            supplier_name=dto.supplier.name if dto.supplier else None,
            invoice_date=dto.date,
            due_date=dto.due_date,
            currency=dto.currency_id or "",
            amount=dto.amount if dto.amount is not None else Decimal(0),
            vat_amount=dto.vat_amount,
            balance=dto.balance,
            po_reference=dto.po_reference,
            supplier_reference=dto.supplier_reference,
            description=dto.description,
        ),
    )
