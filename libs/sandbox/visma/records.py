"""Supplier invoices as the seed data builds them, and their read DTO fields.

The store (``sandbox.visma.store``) keeps them as fields like every other entity. Amounts
are Decimals rounded to cents and leave as JSON numbers. Times are UTC truncated to
milliseconds, the precision the DTO shows, so a filter on a value a client has seen
matches exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

CENT = Decimal("0.01")


def money(value: Decimal | float | int | str) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def to_millis(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_millis(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


@dataclass(frozen=True)
class Supplier:
    internal_id: int
    number: str
    name: str
    category: str
    country: str
    currency_id: str


@dataclass(frozen=True)
class InvoiceLine:
    line_number: int
    description: str
    quantity: Decimal
    unit_cost: Decimal
    amount: Decimal
    account_number: str
    # ASSUMPTION: the PO reference travels on lines as ``poNumber``; not in the public DTO.
    po_number: str | None
    subaccount: str | None = None
    """The line's cost center (a SUBACCOUNT dimension value), read back as ``{"id": ...}``."""


@dataclass
class Invoice:
    company: str
    reference_number: str
    status: str
    approval_status: str
    supplier: Supplier
    invoice_date: date
    due_date: date
    currency_id: str
    amount: Decimal
    vat_amount: Decimal
    balance: Decimal
    supplier_reference: str
    description: str
    lines: list[InvoiceLine]
    created: datetime
    last_modified: datetime


def _line_dto(line: InvoiceLine) -> dict[str, object]:
    return {
        "lineNumber": line.line_number,
        "transactionDescription": line.description,
        "quantity": float(line.quantity),
        "unitCostInCurrency": float(line.unit_cost),
        "amount": float(line.amount),
        "accountNumber": line.account_number,
        "poNumber": line.po_number,
        "subaccount": None if line.subaccount is None else {"id": line.subaccount},
    }


def date_value(day: date) -> str:
    """A DTO date: midnight, no zone, as the ERP renders dates."""
    return f"{day.isoformat()}T00:00:00"


def invoice_fields(invoice: Invoice) -> dict[str, object]:
    """The SupplierInvoiceDto fields, before the stamps every record carries."""
    supplier = invoice.supplier
    return {
        "documentType": "Invoice",
        "referenceNumber": invoice.reference_number,
        "status": invoice.status,
        "approvalStatus": invoice.approval_status,
        "supplier": {
            "internalId": supplier.internal_id,
            "number": supplier.number,
            "name": supplier.name,
        },
        "date": date_value(invoice.invoice_date),
        "dueDate": date_value(invoice.due_date),
        "currencyId": invoice.currency_id,
        "amount": float(invoice.amount),
        "vatAmount": float(invoice.vat_amount),
        "balance": float(invoice.balance),
        "supplierReference": invoice.supplier_reference,
        "description": invoice.description,
        "invoiceLines": [_line_dto(line) for line in invoice.lines],
    }
