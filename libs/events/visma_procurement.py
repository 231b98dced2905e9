"""Procurement facts from Visma.net ERP: purchase orders and receipts, expense claims and
supplier payments (the purchase-to-pay flow around supplier invoices)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from events.visma import VismaEntityChanged, VismaPayload


class PurchaseOrderLine(VismaPayload):
    line_number: int | None = None
    inventory_number: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit_cost: Decimal | None = None
    amount: Decimal | None = None


class PurchaseOrder(VismaPayload):
    order_type: str
    order_number: str
    status: str | None = None
    order_date: date | None = None
    promised_on: date | None = None
    supplier_number: str | None = None
    supplier_name: str | None = None
    currency: str | None = None
    order_total: Decimal | None = None
    lines: list[PurchaseOrderLine] = []


class PurchaseOrderChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.PurchaseOrderChanged"

    entity_type: str = "purchaseOrder"
    purchase_order: PurchaseOrder


class PurchaseReceiptLine(VismaPayload):
    line_number: int | None = None
    po_order_number: str | None = None
    inventory_number: str | None = None
    receipt_quantity: Decimal | None = None


class PurchaseReceipt(VismaPayload):
    receipt_type: str | None = None
    receipt_number: str
    status: str | None = None
    receipt_date: date | None = None
    supplier_number: str | None = None
    supplier_name: str | None = None
    currency: str | None = None
    total_quantity: Decimal | None = None
    total_amount: Decimal | None = None
    lines: list[PurchaseReceiptLine] = []


class PurchaseReceiptChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.PurchaseReceiptChanged"

    entity_type: str = "purchaseReceipt"
    purchase_receipt: PurchaseReceipt


class ExpenseClaimLine(VismaPayload):
    line_number: int | None = None
    expense_item: str | None = None
    description: str | None = None
    amount: Decimal | None = None


class ExpenseClaim(VismaPayload):
    ref_number: str
    status: str | None = None
    approval_status: str | None = None
    claim_date: date | None = None
    employee_number: str | None = None
    employee_name: str | None = None
    currency: str | None = None
    claim_total: Decimal | None = None
    description: str | None = None
    lines: list[ExpenseClaimLine] = []


class ExpenseClaimChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.ExpenseClaimChanged"

    entity_type: str = "expenseClaim"
    expense_claim: ExpenseClaim


class SupplierPayment(VismaPayload):
    payment_type: str
    ref_number: str
    status: str | None = None
    supplier_number: str | None = None
    supplier_name: str | None = None
    payment_method: str | None = None
    application_date: date | None = None
    currency: str | None = None
    payment_amount: Decimal | None = None


class SupplierPaymentChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.SupplierPaymentChanged"

    entity_type: str = "supplierPayment"
    supplier_payment: SupplierPayment
