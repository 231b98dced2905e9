"""Supplier-invoice actions and notes, always written against the version that was read.

Visma has no idempotency key on its actions; what it has is the ETag (`timeStamp`). Every
write here sends `If-Match: "<etag>"`, so it applies only to the version of the invoice the
caller saw: if anyone (or an earlier attempt of ours) changed the invoice since, Visma answers
412 and the client raises `VismaPreconditionFailed`. The caller then reads again and decides
afresh. Routes (API_FACTS section 1):

- `POST /v1/supplierInvoice/{documentType}/{invoiceNumber}/action/{release, prebook, reverse,
  sendtoapproval, voidinvoice, writeoff}`
- `POST /v1/supplierInvoice/{invoiceNumber}/action/correct` (standard invoices only)
- `PUT /v1/supplierInvoice/{documentType}/{invoiceNumber}` with `{"note": {"value": ...}}`

Action POSTs are never repeated by the transport (they are not idempotent); a PUT may be, and
its If-Match turns a repeat after a lost answer into a 412 rather than a second write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import BeforeValidator

from chassis.errors import PermanentError
from visma_client.client import VismaClient
from visma_client.entities import VISMA_ENTITIES
from visma_client.errors import VismaContractError, VismaError
from visma_client.models import SupplierInvoiceDto

__all__ = [
    "DOCUMENT_ACTIONS",
    "INVOICE_ACTIONS",
    "NOTE",
    "SUPPLIER_INVOICE_ACTIONS",
    "InvoiceVersion",
    "SupplierInvoiceActions",
    "SupplierInvoiceStateDto",
    "VismaActionUnknown",
]

DOCUMENT_ACTIONS = frozenset(
    {"release", "prebook", "reverse", "sendtoapproval", "voidinvoice", "writeoff"}
)
INVOICE_ACTIONS = frozenset({"correct"})
"""Actions Visma offers only on `/v1/supplierInvoice/{invoiceNumber}` (release is on both)."""
NOTE = "note"
"""Not a Visma action: a PUT of the invoice's note, treated like one by callers."""
SUPPLIER_INVOICE_ACTIONS = DOCUMENT_ACTIONS | INVOICE_ACTIONS | {NOTE}


class VismaActionUnknown(VismaError, PermanentError):
    """The action is not one Visma offers on supplier invoices (or on this document type)."""


def _note_text(value: Any) -> Any:
    # Read DTOs carry the note as text; a write-shaped {"value": ...} is accepted as well.
    if isinstance(value, dict):
        return value.get("value")
    return value


class SupplierInvoiceStateDto(SupplierInvoiceDto):
    """The invoice as an action sees it: the read DTO plus its note."""

    note: Annotated[str | None, BeforeValidator(_note_text)] = None


_SPEC = replace(VISMA_ENTITIES["supplierInvoice"], model=SupplierInvoiceStateDto)


@dataclass(frozen=True)
class InvoiceVersion:
    """One read of an invoice and the ETag (bare, unquoted) that names that version."""

    invoice: SupplierInvoiceStateDto
    etag: str


class SupplierInvoiceActions:
    """Reads supplier invoices with their ETag and applies actions with If-Match."""

    def __init__(self, client: VismaClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"SupplierInvoiceActions({self._client!r})"

    async def read(self, entity_id: str) -> InvoiceVersion:
        """The invoice named by its canonical id (`Invoice:10042`) and its current ETag."""
        dto, header = await self._client.get_entity(_SPEC, entity_id)
        if not isinstance(dto, SupplierInvoiceStateDto):
            raise VismaContractError(f"supplier invoice {entity_id} read as {type(dto).__name__}")
        etag = bare_etag(header) or dto.time_stamp
        if not etag:
            raise VismaContractError(f"supplier invoice {entity_id} came without an ETag")
        return InvoiceVersion(dto, etag)

    async def apply(
        self, entity_id: str, action: str, *, etag: str, comment: str = ""
    ) -> str | None:
        """Applies `action` to the version `etag` names; returns the new ETag, if Visma sent it.

        `note` writes `comment` as the invoice's note. A stale `etag` raises
        `VismaPreconditionFailed`; an action Visma does not offer, `VismaActionUnknown`.
        """
        if_match = f'"{etag}"'
        if action == NOTE:
            body = {"note": {"value": comment}}
            new = await self._client.write(
                "PUT", _SPEC.item_path(entity_id), body=body, if_match=if_match
            )
        else:
            new = await self._client.write(
                "POST", action_path(entity_id, action), body={}, if_match=if_match
            )
        return bare_etag(new)


def action_path(entity_id: str, action: str) -> str:
    """The route of `action` on the invoice `entity_id` (`{documentType}:{invoiceNumber}`)."""
    item = _SPEC.item_path(entity_id)
    if action in DOCUMENT_ACTIONS:
        return f"{item}/action/{action}"
    if action in INVOICE_ACTIONS:
        document_type, _, number = entity_id.partition(":")
        if document_type != "Invoice":
            raise VismaActionUnknown(f"{action} applies to standard invoices only, not {entity_id}")
        return f"{_SPEC.path}/{quote(number, safe='')}/action/{action}"
    known = ", ".join(sorted(SUPPLIER_INVOICE_ACTIONS))
    raise VismaActionUnknown(f"{action!r} is not a supplier-invoice action ({known})")


def bare_etag(value: str | None) -> str | None:
    """`W/"7001"` or `"7001"` -> `7001`: the form the DTO's timeStamp has."""
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    return text or None
