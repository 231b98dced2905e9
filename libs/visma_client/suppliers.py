"""Suppliers and supplier invoices: finding, reading, creating and updating them.

Routes (API_FACTS section 1): `GET,POST /v1/supplier`, `GET,PUT /v1/supplier/{supplierCd}`,
`GET,POST /v1/supplierInvoice` and `GET,PUT /v1/supplierInvoice/{documentType}/{number}`.
Write DTOs wrap each scalar as `{"value": ...}`; an invoice line's `operation` is a plain
string. A create has no idempotency key in Visma: callers look up before they create, by
organisation or VAT number (suppliers) or by supplier and supplier reference (invoices).
Which list filters Visma honours is UNCONFIRMED, so every lookup also checks the records
it gets back itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from visma_client.actions import bare_etag
from visma_client.client import Created, VismaClient
from visma_client.dto import dto_value
from visma_client.models import SupplierInvoiceDto
from visma_client.models_reference import SupplierDto

__all__ = ["InvoiceLineWrite", "SupplierInvoiceWrite", "SupplierWrite", "Suppliers"]

SUPPLIER_PATH = "/v1/supplier"
INVOICE_PATH = "/v1/supplierInvoice"


@dataclass(frozen=True)
class SupplierWrite:
    """The supplier fields the writer sets; None leaves a field out of the DTO."""

    name: str
    vat_registration_id: str | None = None
    corporate_id: str | None = None
    currency_id: str | None = None
    email: str | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country_id: str | None = None
    note: str | None = None

    def dto(self) -> dict[str, Any]:
        scalars = {
            "name": self.name,
            "vatRegistrationId": self.vat_registration_id,
            "corporateId": self.corporate_id,
            "currencyId": self.currency_id,
            "note": self.note,
        }
        body: dict[str, Any] = {k: dto_value(v) for k, v in scalars.items() if v is not None}
        address = {
            "addressLine1": self.address_line_1,
            "addressLine2": self.address_line_2,
            "postalCode": self.postal_code,
            "city": self.city,
            "countryId": self.country_id,
        }
        if any(v is not None for v in address.values()):
            inner = {k: dto_value(v) for k, v in address.items() if v is not None}
            body["mainAddress"] = dto_value(inner)
        if self.email is not None:
            body["mainContact"] = dto_value({"email": dto_value(self.email)})
        return body


@dataclass(frozen=True)
class InvoiceLineWrite:
    description: str
    amount: Decimal
    account_number: str
    subaccount: str | None = None

    def fields(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "transactionDescription": dto_value(self.description),
            "quantity": dto_value(1),
            "unitCostInCurrency": dto_value(float(self.amount)),
            "accountNumber": dto_value(self.account_number),
        }
        if self.subaccount is not None:
            line["subaccount"] = dto_value(self.subaccount)
        return line


@dataclass(frozen=True)
class SupplierInvoiceWrite:
    supplier_number: str
    supplier_reference: str
    invoice_date: date
    currency_id: str
    amount: Decimal
    lines: list[InvoiceLineWrite] = field(default_factory=list)
    due_date: date | None = None
    description: str | None = None
    note: str | None = None
    document_type: str = "Invoice"

    def dto(self, *, existing_line_numbers: list[int] | None = None) -> dict[str, Any]:
        """The DTO; for an update, the existing lines are updated in place by position,
        extra ones inserted and surplus ones deleted."""
        body: dict[str, Any] = {
            "supplierNumber": dto_value(self.supplier_number),
            "supplierReference": dto_value(self.supplier_reference),
            "date": dto_value(self.invoice_date.isoformat()),
            "currencyId": dto_value(self.currency_id),
            "amount": dto_value(float(self.amount)),
        }
        if existing_line_numbers is None:
            body["documentType"] = dto_value(self.document_type)
        for name, value in (
            ("dueDate", self.due_date.isoformat() if self.due_date else None),
            ("description", self.description),
            ("note", self.note),
        ):
            if value is not None:
                body[name] = dto_value(value)
        body["invoiceLines"] = _line_operations(self.lines, existing_line_numbers or [])
        return body


def _line_operations(lines: list[InvoiceLineWrite], existing: list[int]) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        if index < len(existing):
            number = dto_value(existing[index])
            operations.append({"operation": "Update", "lineNumber": number, **line.fields()})
        else:
            operations.append({"operation": "Insert", **line.fields()})
    for surplus in existing[len(lines) :]:
        operations.append({"operation": "Delete", "lineNumber": dto_value(surplus)})
    return operations


def _same(left: str | None, right: str | None) -> bool:
    def norm(text: str | None) -> str:
        return "".join(ch for ch in (text or "") if ch.isalnum()).lower()

    return bool(norm(left)) and norm(left) == norm(right)


class Suppliers:
    """The supplier and supplier-invoice calls of one company's `VismaClient`."""

    def __init__(self, client: VismaClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"Suppliers({self._client!r})"

    async def _list_suppliers(
        self, filters: dict[str, str], keep: Callable[[SupplierDto], bool]
    ) -> list[SupplierDto]:
        found: list[SupplierDto] = []
        pages = self._client.iter_filtered_pages(SUPPLIER_PATH, SupplierDto, filters=filters)
        async for page in pages:
            found += [s for s in page.items if keep(s)]
        return found

    async def find_by_corporate_id(self, corporate_id: str) -> list[SupplierDto]:
        return await self._list_suppliers(
            {"corporateId": corporate_id}, lambda s: _same(s.corporate_id, corporate_id)
        )

    async def find_by_vat_id(self, vat_id: str) -> list[SupplierDto]:
        return await self._list_suppliers(
            {"vatRegistrationId": vat_id}, lambda s: _same(s.vat_registration_id, vat_id)
        )

    async def find_by_note_mark(self, mark: str) -> list[SupplierDto]:
        """Every supplier whose note carries `mark` (a full read: no filter exists)."""
        return await self._list_suppliers({}, lambda s: mark in (s.note or ""))

    async def read_supplier(self, number: str) -> tuple[SupplierDto, str | None]:
        response_dto, header = await self._client.get_entity_at(
            SupplierDto, f"{SUPPLIER_PATH}/{quote(number, safe='')}"
        )
        return response_dto, bare_etag(header) or response_dto.time_stamp

    async def create_supplier(self, supplier: SupplierWrite) -> Created:
        created = await self._client.create(SUPPLIER_PATH, body=supplier.dto())
        return Created(created.location, created.number, bare_etag(created.etag))

    async def update_supplier(
        self, number: str, supplier: SupplierWrite, *, etag: str
    ) -> str | None:
        path = f"{SUPPLIER_PATH}/{quote(number, safe='')}"
        body = supplier.dto()
        return bare_etag(await self._client.write("PUT", path, body=body, if_match=f'"{etag}"'))

    async def find_invoices(
        self, supplier_number: str, supplier_reference: str
    ) -> list[SupplierInvoiceDto]:
        """The supplier's invoices with that supplier reference (its own invoice number)."""
        filters = {"supplier": supplier_number, "supplierReference": supplier_reference}
        found: list[SupplierInvoiceDto] = []
        pages = self._client.iter_filtered_pages(INVOICE_PATH, SupplierInvoiceDto, filters=filters)
        async for page in pages:
            found += [
                i
                for i in page.items
                if i.supplier is not None
                and i.supplier.number == supplier_number
                and i.supplier_reference == supplier_reference
            ]
        return found

    async def read_invoice(
        self, document_type: str, number: str
    ) -> tuple[SupplierInvoiceDto, str | None]:
        path = f"{INVOICE_PATH}/{quote(document_type, safe='')}/{quote(number, safe='')}"
        dto, header = await self._client.get_entity_at(SupplierInvoiceDto, path)
        return dto, bare_etag(header) or dto.time_stamp

    async def create_invoice(self, invoice: SupplierInvoiceWrite) -> Created:
        created = await self._client.create(INVOICE_PATH, body=invoice.dto())
        return Created(created.location, created.number, bare_etag(created.etag))

    async def update_invoice(
        self,
        number: str,
        invoice: SupplierInvoiceWrite,
        *,
        etag: str,
        existing_line_numbers: list[int],
    ) -> str | None:
        path = f"{INVOICE_PATH}/{quote(invoice.document_type, safe='')}/{quote(number, safe='')}"
        body = invoice.dto(existing_line_numbers=existing_line_numbers)
        return bare_etag(await self._client.write("PUT", path, body=body, if_match=f'"{etag}"'))
