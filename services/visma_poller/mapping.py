"""From Visma's wire models to the canonical events: the one place that knows both shapes.

`entity_event` builds the `<Entity>Changed` event of any entity in `VISMA_ENTITIES`: the
shared envelope (id, version, change type) here, the payload from the entity's mapper below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from chassis.errors import PermanentError
from events import (
    VISMA_EVENTS,
    Account,
    ChangeType,
    Customer,
    CustomerInvoice,
    CustomerPayment,
    Dimension,
    Employee,
    ExpenseClaim,
    JournalTransaction,
    PurchaseOrder,
    PurchaseReceipt,
    Supplier,
    SupplierInvoice,
    SupplierInvoiceChanged,
    SupplierPayment,
    VismaEntityChanged,
)
from events.visma import SupplierInvoiceLine, VismaPayload
from events.visma_ledger import JournalTransactionLine
from events.visma_procurement import ExpenseClaimLine, PurchaseOrderLine, PurchaseReceiptLine
from visma_client.entities import VISMA_ENTITIES
from visma_client.errors import VismaRecordIncomplete
from visma_client.models import (
    SupplierInvoiceDto,
    SupplierInvoiceLineDto,
    VismaModel,
    VismaRecordDto,
)
from visma_client.models_ledger import JournalTransactionDto
from visma_client.models_procurement import (
    ExpenseClaimDto,
    PurchaseOrderDto,
    PurchaseReceiptDto,
    SupplierPaymentDto,
)
from visma_client.models_reference import (
    AccountDto,
    CustomerDto,
    DimensionDto,
    EmployeeDto,
    SupplierDto,
)
from visma_client.models_sales import CustomerInvoiceDto, CustomerPaymentDto
from visma_poller.cursor import version_of

ENTITY_TYPE = "supplierInvoice"


class UnusableRecordError(PermanentError):
    """A record Visma returned lacks what every event needs (an id, a change time), or a
    value of it does not fit the event (the poller dead-letters it)."""


def entity_event(
    entity_type: str,
    dto: VismaModel,
    *,
    tenant_id: str,
    company_id: str,
    observed_at: datetime,
) -> VismaEntityChanged:
    """The canonical event for one version of one Visma record (a DTO of `entity_type`)."""
    if entity_type not in _PAYLOADS:
        raise ValueError(f"unknown Visma entity type {entity_type!r}")
    if not isinstance(dto, VismaRecordDto):
        raise TypeError(f"{type(dto).__name__} is not a Visma record")
    try:
        entity_id = VISMA_ENTITIES[entity_type].id_of(dto)
    except VismaRecordIncomplete as exc:
        raise UnusableRecordError(str(exc)) from exc
    modified = dto.last_modified_date_time
    if modified is None:
        raise UnusableRecordError(f"{entity_type} {entity_id} has no lastModifiedDateTime")
    event_type = VISMA_EVENTS[entity_type]
    created = dto.created_date_time
    try:
        return event_type.model_validate(
            {
                "event_id": f"{tenant_id}/{company_id}/{entity_type}/"
                f"{version_of(entity_id, modified)}",
                "tenant_id": tenant_id,
                "company_id": company_id,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "change_type": ChangeType.CREATED if created == modified else ChangeType.UPDATED,
                "last_modified": modified,
                "etag": dto.time_stamp,
                "observed_at": observed_at,
                event_type.payload_field(): _PAYLOADS[entity_type](dto),
            }
        )
    except ValidationError as exc:
        # A value Visma accepts but the event cannot carry (a length, a range): say which.
        raise UnusableRecordError(
            f"{entity_type} {entity_id} does not fit its event: {exc}"
        ) from exc


def supplier_invoice_event(
    dto: SupplierInvoiceDto, *, tenant_id: str, company_id: str, observed_at: datetime
) -> SupplierInvoiceChanged:
    event = entity_event(
        ENTITY_TYPE, dto, tenant_id=tenant_id, company_id=company_id, observed_at=observed_at
    )
    if not isinstance(event, SupplierInvoiceChanged):
        raise TypeError(f"{ENTITY_TYPE} mapped to {type(event).__name__}")
    return event


def _present(value: str | None) -> str:
    # Only reached after id_of has accepted the record, so this is a guard, not a check.
    if value is None:
        raise UnusableRecordError("an id field is missing")
    return value


# ---- payloads, one per entity ---------------------------------------------------------------


def _supplier_invoice(dto: SupplierInvoiceDto) -> SupplierInvoice:
    return SupplierInvoice(
        document_type=dto.document_type or "Invoice",
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
        lines=[_invoice_line(line) for line in dto.invoice_lines],
    )


def _invoice_line(line: SupplierInvoiceLineDto) -> SupplierInvoiceLine:
    return SupplierInvoiceLine(
        line_number=line.line_number,
        description=line.transaction_description,
        amount=line.amount,
        account_number=line.account_number,
        subaccount=line.subaccount.id if line.subaccount else None,
    )


def _supplier(dto: SupplierDto) -> Supplier:
    contact = dto.main_contact
    return Supplier(
        internal_id=dto.internal_id,
        number=_present(dto.number),
        name=dto.name,
        status=dto.status,
        supplier_class_id=dto.supplier_class.id if dto.supplier_class else None,
        supplier_class_description=dto.supplier_class.description if dto.supplier_class else None,
        currency=dto.currency_id,
        vat_registration_id=dto.vat_registration_id,
        corporate_id=dto.corporate_id,
        email=contact.email if contact else None,
        phone=contact.phone1 if contact else None,
    )


def _customer(dto: CustomerDto) -> Customer:
    contact = dto.main_contact
    return Customer(
        internal_id=dto.internal_id,
        number=_present(dto.number),
        name=dto.name,
        status=dto.status,
        currency=dto.currency_id,
        email=contact.email if contact else None,
        phone=contact.phone1 if contact else None,
    )


def _employee(dto: EmployeeDto) -> Employee:
    contact = dto.contact
    return Employee(
        employee_id=dto.employee_id,
        employee_number=_present(dto.employee_number),
        employee_name=dto.employee_name,
        status=dto.status,
        department=dto.department,
        email=contact.email if contact else None,
        phone=contact.phone1 if contact else None,
    )


def _account(dto: AccountDto) -> Account:
    return Account(
        account_id=dto.account_id,
        account_code=_present(dto.account_cd),
        description=dto.description,
        account_type=dto.type,
        active=dto.active,
        account_group=dto.account_group,
    )


def _dimension(dto: DimensionDto) -> Dimension:
    if dto.segment_id is None:
        raise UnusableRecordError("dimension record without segment_id")
    return Dimension(
        dimension_id=_present(dto.dimension_id),
        segment_id=dto.segment_id,
        value_id=_present(dto.value_id),
        description=dto.description,
        active=dto.active,
    )


def _purchase_order(dto: PurchaseOrderDto) -> PurchaseOrder:
    return PurchaseOrder(
        order_type=_present(dto.order_type),
        order_number=_present(dto.order_nbr),
        status=dto.status,
        order_date=dto.date,
        promised_on=dto.promised_on,
        supplier_number=dto.supplier.number if dto.supplier else None,
        supplier_name=dto.supplier.name if dto.supplier else None,
        currency=dto.currency_id,
        order_total=dto.order_total,
        lines=[
            PurchaseOrderLine(
                line_number=line.line_nbr,
                inventory_number=line.inventory_number,
                description=line.line_description,
                quantity=line.order_qty,
                unit_cost=line.unit_cost,
                amount=line.amount,
            )
            for line in dto.lines
        ],
    )


def _purchase_receipt(dto: PurchaseReceiptDto) -> PurchaseReceipt:
    return PurchaseReceipt(
        receipt_type=dto.receipt_type,
        receipt_number=_present(dto.receipt_nbr),
        status=dto.status,
        receipt_date=dto.date,
        supplier_number=dto.supplier.number if dto.supplier else None,
        supplier_name=dto.supplier.name if dto.supplier else None,
        currency=dto.currency_id,
        total_quantity=dto.total_qty,
        total_amount=dto.total_amount,
        lines=[
            PurchaseReceiptLine(
                line_number=line.line_nbr,
                po_order_number=line.po_order_nbr,
                inventory_number=line.inventory_number,
                receipt_quantity=line.receipt_qty,
            )
            for line in dto.lines
        ],
    )


def _expense_claim(dto: ExpenseClaimDto) -> ExpenseClaim:
    return ExpenseClaim(
        ref_number=_present(dto.ref_nbr),
        status=dto.status,
        approval_status=dto.approval_status,
        claim_date=dto.date,
        employee_number=dto.claimed_by.id if dto.claimed_by else None,
        employee_name=dto.claimed_by.name if dto.claimed_by else None,
        currency=dto.currency_id,
        claim_total=dto.claim_total,
        description=dto.description,
        lines=[
            ExpenseClaimLine(
                line_number=line.line_nbr,
                expense_item=line.expense_item,
                description=line.description,
                amount=line.amount,
            )
            for line in dto.lines
        ],
    )


def _supplier_payment(dto: SupplierPaymentDto) -> SupplierPayment:
    return SupplierPayment(
        payment_type=_present(dto.type),
        ref_number=_present(dto.ref_nbr),
        status=dto.status,
        supplier_number=dto.supplier.number if dto.supplier else None,
        supplier_name=dto.supplier.name if dto.supplier else None,
        payment_method=dto.payment_method.id if dto.payment_method else None,
        application_date=dto.application_date,
        currency=dto.currency,
        payment_amount=dto.payment_amount,
    )


def _journal_transaction(dto: JournalTransactionDto) -> JournalTransaction:
    return JournalTransaction(
        module=_present(dto.module),
        batch_number=_present(dto.batch_number),
        status=dto.status,
        transaction_date=dto.transaction_date,
        currency=dto.currency_id,
        control_total=dto.control_total_in_currency,
        description=dto.description,
        lines=[
            JournalTransactionLine(
                line_number=line.line_number,
                account_number=line.account_number,
                subaccount=line.subaccount,
                debit_amount=line.debit_amount_in_currency,
                credit_amount=line.credit_amount_in_currency,
                description=line.transaction_description,
            )
            for line in dto.lines
        ],
    )


def _customer_invoice(dto: CustomerInvoiceDto) -> CustomerInvoice:
    return CustomerInvoice(
        document_type=_present(dto.document_type),
        reference_number=_present(dto.reference_number),
        status=dto.status,
        customer_number=dto.customer.number if dto.customer else None,
        customer_name=dto.customer.name if dto.customer else None,
        invoice_date=dto.date,
        due_date=dto.due_date,
        currency=dto.currency_id,
        amount=dto.amount,
        vat_total=dto.vat_total,
        balance=dto.balance,
    )


def _customer_payment(dto: CustomerPaymentDto) -> CustomerPayment:
    return CustomerPayment(
        payment_type=_present(dto.type),
        ref_number=_present(dto.ref_nbr),
        status=dto.status,
        customer_number=dto.customer.number if dto.customer else None,
        customer_name=dto.customer.name if dto.customer else None,
        payment_method=dto.payment_method.id if dto.payment_method else None,
        application_date=dto.application_date,
        currency=dto.currency,
        payment_amount=dto.payment_amount,
    )


# Each mapper takes the DTO type of its entity's spec; `id_of` has checked the type already.
_PAYLOADS: dict[str, Callable[[Any], VismaPayload]] = {
    "supplier": _supplier,
    "supplierInvoice": _supplier_invoice,
    "purchaseOrder": _purchase_order,
    "purchaseReceipt": _purchase_receipt,
    "expenseClaim": _expense_claim,
    "journalTransaction": _journal_transaction,
    "customerInvoice": _customer_invoice,
    "customer": _customer,
    "supplierPayment": _supplier_payment,
    "customerPayment": _customer_payment,
    "account": _account,
    "dimension": _dimension,
    "employee": _employee,
}
