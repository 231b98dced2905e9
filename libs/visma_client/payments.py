"""Supplier payments: finding one by the reference written on it, reading, creating, updating.

Routes (API_FACTS section 1): `GET,POST /v1/supplierPayment` and
`GET /v1/supplierPayment/{paymentType}/{paymentNumber}`; the `PUT` on that route and every
write field name are ASSUMED (docs/visma-entities.md, "Supplier payments"). A create has no
idempotency key in Visma: the caller writes its own reference on the payment (`paymentRef`)
and looks for it before it creates. Whether Visma filters the list on `paymentRef` is
UNCONFIRMED, so the lookup also sends the supplier and checks every payment it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from visma_client.actions import bare_etag
from visma_client.client import Created, VismaClient
from visma_client.dto import dto_value
from visma_client.models_procurement import SupplierPaymentDto

__all__ = ["PaidDocument", "PaymentAllocationWrite", "SupplierPaymentWrite", "SupplierPayments"]

PAYMENT_PATH = "/v1/supplierPayment"


@dataclass(frozen=True)
class PaidDocument:
    """A document the payment pays: its type, its reference number, the amount paid."""

    document_type: str
    ref_nbr: str
    amount: Decimal


@dataclass(frozen=True)
class PaymentAllocationWrite:
    """A share of the payment booked on a GL account and cost center (the subaccount)."""

    amount: Decimal
    account_number: str
    subaccount: str | None = None
    description: str | None = None

    def fields(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "amount": dto_value(float(self.amount)),
            "accountNumber": dto_value(self.account_number),
        }
        if self.subaccount is not None:
            line["subaccount"] = dto_value(self.subaccount)
        if self.description is not None:
            line["description"] = dto_value(self.description)
        return line


@dataclass(frozen=True)
class SupplierPaymentWrite:
    supplier_number: str
    payment_reference: str
    application_date: date
    currency_id: str
    amount: Decimal
    paid: list[PaidDocument]
    allocations: list[PaymentAllocationWrite] = field(default_factory=list)
    description: str | None = None

    def dto(self, *, already_paid: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """The DTO; for an update, `already_paid` names the documents the payment pays now
        (updated in place; ones it no longer pays are deleted)."""
        body: dict[str, Any] = {
            "supplier": dto_value(self.supplier_number),
            "paymentRef": dto_value(self.payment_reference),
            "applicationDate": dto_value(self.application_date.isoformat()),
            "currency": dto_value(self.currency_id),
            "paymentAmount": dto_value(float(self.amount)),
            "allocations": [a.fields() for a in self.allocations],
        }
        if self.description is not None:
            body["description"] = dto_value(self.description)
        existing = set(already_paid or [])
        lines: list[dict[str, Any]] = []
        for doc in self.paid:
            operation = "Update" if (doc.document_type, doc.ref_nbr) in existing else "Insert"
            lines.append({
                "operation": operation,
                "documentType": dto_value(doc.document_type),
                "refNbr": dto_value(doc.ref_nbr),
                "amountPaid": dto_value(float(doc.amount)),
            })  # fmt: skip
        kept = {(d.document_type, d.ref_nbr) for d in self.paid}
        for document_type, ref_nbr in sorted(existing - kept):
            lines.append({
                "operation": "Delete",
                "documentType": dto_value(document_type),
                "refNbr": dto_value(ref_nbr),
            })  # fmt: skip
        body["paymentLines"] = lines
        return body


class SupplierPayments:
    """The supplier-payment calls of one company's `VismaClient`."""

    def __init__(self, client: VismaClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"SupplierPayments({self._client!r})"

    async def find_by_reference(
        self, supplier_number: str, payment_reference: str
    ) -> list[SupplierPaymentDto]:
        """The supplier's payments carrying `payment_reference`, as Visma lists them."""
        filters = {"supplier": supplier_number, "paymentRef": payment_reference}
        found: list[SupplierPaymentDto] = []
        pages = self._client.iter_filtered_pages(PAYMENT_PATH, SupplierPaymentDto, filters=filters)
        async for page in pages:
            found += [p for p in page.items if p.payment_ref == payment_reference]
        return found

    async def read(self, payment_type: str, number: str) -> tuple[SupplierPaymentDto, str | None]:
        path = _path(payment_type, number)
        dto, header = await self._client.get_entity_at(SupplierPaymentDto, path)
        return dto, bare_etag(header) or dto.time_stamp

    async def create(self, payment: SupplierPaymentWrite) -> Created:
        created = await self._client.create(PAYMENT_PATH, body=payment.dto())
        return Created(created.location, created.number, bare_etag(created.etag))

    async def update(
        self,
        payment_type: str,
        number: str,
        payment: SupplierPaymentWrite,
        *,
        etag: str,
        already_paid: list[tuple[str, str]],
    ) -> str | None:
        """`PUT` with `If-Match`; a stale `etag` raises `VismaPreconditionFailed`."""
        body = payment.dto(already_paid=already_paid)
        path = _path(payment_type, number)
        return bare_etag(await self._client.write("PUT", path, body=body, if_match=f'"{etag}"'))


def _path(payment_type: str, number: str) -> str:
    return f"{PAYMENT_PATH}/{quote(payment_type, safe='')}/{quote(number, safe='')}"
