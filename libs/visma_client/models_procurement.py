"""Visma read DTOs for procurement: purchase orders and receipts, expense claims and
supplier payments. Id fields are optional so one bad record cannot fail a whole page."""

from __future__ import annotations

from visma_client.models import (
    Amount,
    Code,
    PartyRefDto,
    PaymentMethodRefDto,
    SubaccountRefDto,
    VismaDate,
    VismaModel,
    VismaRecordDto,
)

__all__ = [
    "EmployeeRefDto",
    "ExpenseClaimDto",
    "ExpenseClaimLineDto",
    "PurchaseOrderDto",
    "PurchaseOrderLineDto",
    "PurchaseReceiptDto",
    "PurchaseReceiptLineDto",
    "SupplierPaymentAllocationDto",
    "SupplierPaymentDto",
    "SupplierPaymentLineDto",
]


class PurchaseOrderLineDto(VismaModel):
    line_nbr: int | None = None
    inventory_number: Code | None = None
    line_description: str | None = None
    order_qty: Amount | None = None
    unit_cost: Amount | None = None
    amount: Amount | None = None
    qty_on_receipts: Amount | None = None
    """What receipts have taken of the line so far (ASSUMPTION: the sandbox's name)."""


class PurchaseOrderDto(VismaRecordDto):
    """`GET /v1/purchaseorder` item."""

    order_type: str | None = None
    order_nbr: Code | None = None
    status: str | None = None
    date: VismaDate | None = None
    promised_on: VismaDate | None = None
    supplier: PartyRefDto | None = None
    currency_id: str | None = None
    order_total: Amount | None = None
    lines: list[PurchaseOrderLineDto] = []


class PurchaseReceiptLineDto(VismaModel):
    line_nbr: int | None = None
    po_order_type: str | None = None
    po_order_nbr: Code | None = None
    po_line_nbr: int | None = None
    inventory_number: Code | None = None
    receipt_qty: Amount | None = None


class PurchaseReceiptDto(VismaRecordDto):
    """`GET /v1/PurchaseReceipt` item."""

    receipt_type: str | None = None
    receipt_nbr: Code | None = None
    status: str | None = None
    date: VismaDate | None = None
    supplier: PartyRefDto | None = None
    currency_id: str | None = None
    total_qty: Amount | None = None
    total_amount: Amount | None = None
    note: str | None = None
    supplier_ref: str | None = None
    lines: list[PurchaseReceiptLineDto] = []


class EmployeeRefDto(VismaModel):
    """The employee on an expense claim: `id` is the employee number."""

    id: Code | None = None
    name: str | None = None


class ExpenseClaimLineDto(VismaModel):
    line_nbr: int | None = None
    expense_item: Code | None = None
    description: str | None = None
    amount: Amount | None = None


class ExpenseClaimDto(VismaRecordDto):
    """`GET /v1/expenseClaim` item."""

    ref_nbr: Code | None = None
    status: str | None = None
    approval_status: str | None = None
    date: VismaDate | None = None
    claimed_by: EmployeeRefDto | None = None
    currency_id: str | None = None
    claim_total: Amount | None = None
    description: str | None = None
    lines: list[ExpenseClaimLineDto] = []


class SupplierPaymentLineDto(VismaModel):
    """A document the payment pays, and how much of it."""

    document_type: str | None = None
    ref_nbr: Code | None = None
    amount_paid: Amount | None = None


class SupplierPaymentAllocationDto(VismaModel):
    """A share of the payment on a GL account and cost center (assumed, ours)."""

    line_number: int | None = None
    amount: Amount | None = None
    account_number: Code | None = None
    subaccount: SubaccountRefDto | None = None
    description: str | None = None


class SupplierPaymentDto(VismaRecordDto):
    """`GET /v1/supplierPayment` item. `payment_ref`, `description`, `payment_lines` and
    `allocations` are absent from payments made by hand (assumed names,
    docs/visma-entities.md)."""

    type: str | None = None
    ref_nbr: Code | None = None
    status: str | None = None
    supplier: PartyRefDto | None = None
    payment_method: PaymentMethodRefDto | None = None
    application_date: VismaDate | None = None
    currency: str | None = None
    payment_amount: Amount | None = None
    payment_ref: str | None = None
    description: str | None = None
    payment_lines: list[SupplierPaymentLineDto] = []
    allocations: list[SupplierPaymentAllocationDto] = []
