"""Supplier invoices as the simulator stores them, and their read DTO.

Records are kept in creation order (internal id) per company, so a paged read stays stable
while records change underneath it: a change bumps ``lastModifiedDateTime`` and
``timeStamp`` but never moves the record to another page. Amounts are Decimals rounded to
cents and leave as JSON numbers. Times are UTC truncated to milliseconds, the precision
the DTO shows, so a filter on a value a client has seen matches exactly.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    internal_id: int = 0
    timestamp: str = ""


def _date_value(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def _line_dto(line: InvoiceLine) -> dict[str, object]:
    return {
        "lineNumber": line.line_number,
        "transactionDescription": line.description,
        "quantity": float(line.quantity),
        "unitCostInCurrency": float(line.unit_cost),
        "amount": float(line.amount),
        "accountNumber": line.account_number,
        "poNumber": line.po_number,
    }


def invoice_dto(invoice: Invoice, *, total_count: int, max_page_size: int) -> dict[str, object]:
    """The plain read DTO (SupplierInvoiceDto), metadata included as on every list element."""
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
        "date": _date_value(invoice.invoice_date),
        "dueDate": _date_value(invoice.due_date),
        "currencyId": invoice.currency_id,
        "amount": float(invoice.amount),
        "vatAmount": float(invoice.vat_amount),
        "balance": float(invoice.balance),
        "supplierReference": invoice.supplier_reference,
        "description": invoice.description,
        "invoiceLines": [_line_dto(line) for line in invoice.lines],
        "lastModifiedDateTime": format_millis(invoice.last_modified),
        "createdDateTime": format_millis(invoice.created),
        "timeStamp": invoice.timestamp,
        "metadata": {"totalCount": total_count, "maxPageSize": max_page_size},
    }


@dataclass
class InvoiceStore:
    """Invoices per company in creation order, with a row-version style ETag counter."""

    _by_company: dict[str, list[Invoice]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _versions: Iterator[int] = field(default_factory=lambda: itertools.count(7001))

    def clear(self) -> None:
        self._by_company.clear()

    def companies(self) -> list[str]:
        return list(self._by_company)

    def ensure_company(self, company: str) -> None:
        self._by_company.setdefault(company, [])

    def next_reference(self, company: str) -> str:
        return str(100001 + len(self._by_company.get(company, [])))

    def add(self, invoice: Invoice) -> Invoice:
        invoice.internal_id = next(self._ids)
        invoice.timestamp = self._next_version()
        invoice.created = to_millis(invoice.created)
        invoice.last_modified = to_millis(invoice.last_modified)
        self._by_company.setdefault(invoice.company, []).append(invoice)
        return invoice

    def touch(self, invoice: Invoice, now: datetime) -> None:
        """Record a change: new modification time and a new ETag."""
        invoice.last_modified = to_millis(now)
        invoice.timestamp = self._next_version()

    def list(self, company: str) -> list[Invoice]:
        return list(self._by_company.get(company, []))

    def get(self, company: str, reference_number: str) -> Invoice | None:
        for invoice in self._by_company.get(company, []):
            if invoice.reference_number == reference_number:
                return invoice
        return None

    def _next_version(self) -> str:
        # Visma's timeStamp is a SQL rowversion rendered in base64; mimic that shape.
        return base64.b64encode(next(self._versions).to_bytes(8, "big")).decode("ascii")
