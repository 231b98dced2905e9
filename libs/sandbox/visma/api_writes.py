"""The public write routes for supplier invoices: the actions and the PUT of header fields.

Both honour an optional ``If-Match: "etag"`` (412 Precondition Failed when it is not the
record's current ``timeStamp``) and answer with the new ``ETag``, as the public API
documents. A success goes through :meth:`VismaState.change`, so ``lastModifiedDateTime``
and ``timeStamp`` move (the poller sees the change) and webhook subscribers are told.
Actions answer 200 with the ActionResultDto shape of the public spec
(``actionId``, ``actionResult`` one of Queued/InProcess/Failed/Done, ``errorInfo``); the
sandbox applies them at once, so ``actionResult`` is always ``Done``. ``erp-api-background``
is ignored.

A PUT takes a SupplierInvoiceUpdateDto (each scalar wrapped as ``{"value": ...}``); the
sandbox models the fields ``sandbox.visma.supplier_writes`` lists (header fields, ``hold``,
``supplierNumber``, ``amount`` and ``invoiceLines`` with their ``operation``) and refuses
others with 400 rather than pretending to apply them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.visma.entities import SPECS_BY_NAME
from sandbox.visma.invoice_actions import (
    DOCUMENT_ACTIONS,
    INVOICE_ACTIONS,
    ActionRefused,
    updates_for,
)
from sandbox.visma.state import Access, VismaApiError, VismaState
from sandbox.visma.store import Record
from sandbox.visma.supplier_writes import WriteRefused, invoice_updates, supplier_ref

INVOICE = SPECS_BY_NAME["supplierInvoice"]
_ROUTE = INVOICE.route
_HOLD_FROM = frozenset({"Balanced", "PendingApproval", "Rejected"})


def etag_header(record: Record) -> dict[str, str]:
    return {"ETag": f'"{record.timestamp}"'}


def api_base(request: Request) -> str:
    """The simulator's own base URL, mount point included (`base_url` leaves out `/visma`)."""
    root: str = request.scope.get("root_path", "")
    base = str(request.base_url).rstrip("/")
    return base if not root or base.endswith(root.rstrip("/")) else base + root.rstrip("/")


def _if_match_values(raw: str) -> list[str]:
    values = []
    for part in raw.split(","):
        value = part.strip()
        value = value.removeprefix("W/")
        values.append(value.strip('"'))
    return values


def check_if_match(request: Request, record: Record, access: Access) -> None:
    """412 unless If-Match is absent, ``*`` or names the record's current ETag."""
    raw = request.headers.get("if-match")
    if raw is None:
        return
    values = _if_match_values(raw)
    if "*" in values or record.timestamp in values:
        return
    raise VismaApiError(
        412,
        "The resource has been modified since it was read (ETag mismatch).",
        "precondition_failed",
        access.headers | etag_header(record),
    )


def _find_invoice(state: VismaState, access: Access, document_type: str, number: str) -> Record:
    record = state.store.get(INVOICE.name, access.company, f"{document_type}:{number}")
    if record is None:
        message = f"SupplierInvoice {document_type} {number} not found."
        raise VismaApiError(404, message, "not_found", access.headers)
    return record


def _authorize(state: VismaState, request: Request) -> Access:
    return state.authorize(
        request.headers.get("authorization"), request.headers.get("ipp-company-id"), _ROUTE
    )


def _apply_action(
    state: VismaState, request: Request, *, document_type: str, number: str, action: str
) -> JSONResponse:
    access = _authorize(state, request)
    record = _find_invoice(state, access, document_type, number)
    check_if_match(request, record, access)
    try:
        updates = updates_for(action, record.fields)
    except ActionRefused as exc:
        raise VismaApiError(400, str(exc), "invalid_action", access.headers) from exc
    state.change(record, updates)
    state.actions.record(access.company, record.entity_id, action)
    body: dict[str, object] = {
        "actionId": str(uuid.uuid4()),
        "actionResult": "Done",
        "errorInfo": None,
    }
    if action == "correct":
        body = {"refNbr": record.short_id, "errorMessage": None, **body}
    return JSONResponse(body, headers=access.headers | etag_header(record))


def _hold_update(hold: object, status: str) -> dict[str, Any]:
    if not isinstance(hold, bool):
        raise ValueError("hold must be a boolean")
    if hold and status in _HOLD_FROM:
        return {"status": "Hold"}
    if not hold and status in {"Hold", "OnHold"}:
        return {"status": "Balanced"}
    return {}


def put_updates(
    body: object,
    record: Record,
    *,
    supplier: Callable[[str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The field changes a SupplierInvoiceUpdateDto asks for; ValueError when unsupported.

    `supplier` resolves a new `supplierNumber` to the invoice's supplier reference.
    """
    existing = list(record.fields.get("invoiceLines") or [])
    updates = invoice_updates(body, existing_lines=existing)
    if "documentType" in updates and updates.pop("documentType") != record.fields.get(
        "documentType"
    ):
        raise WriteRefused("A document's type cannot be changed.")
    if "hold" in updates:
        updates.update(_hold_update(updates.pop("hold"), str(record.fields.get("status"))))
    if "supplierNumber" in updates:
        number = updates.pop("supplierNumber")
        if supplier is None:
            raise WriteRefused("supplierNumber cannot be changed here.")
        updates["supplier"] = supplier(number)
    if "amount" in updates:
        paid = Decimal(str(record.fields.get("amount") or 0)) - Decimal(
            str(record.fields.get("balance") or 0)
        )
        updates["balance"] = float(Decimal(str(updates["amount"])) - paid)
    return updates


async def _apply_put(
    state: VismaState, request: Request, *, document_type: str, number: str
) -> Response:
    access = _authorize(state, request)
    record = _find_invoice(state, access, document_type, number)
    check_if_match(request, record, access)
    try:
        updates = put_updates(
            json.loads(await request.body() or b"null"),
            record,
            supplier=lambda number: supplier_ref(state.store, access.company, number),
        )
    except (ValueError, json.JSONDecodeError) as exc:
        raise VismaApiError(400, str(exc), "invalid_request", access.headers) from exc
    state.change(record, updates)
    state.actions.record(access.company, record.entity_id, "update")
    location = f"{api_base(request)}{_ROUTE}/{document_type}/{number}"
    headers = access.headers | etag_header(record) | {"Location": location}
    return Response(status_code=204, headers=headers)


def _unknown_action(action: str) -> VismaApiError:
    return VismaApiError(404, f"No action {action} on supplier invoices.", "not_found")


def build_write_router(state: VismaState) -> APIRouter:
    router = APIRouter()

    @router.post(_ROUTE + "/{document_type}/{number}/action/{action}")
    async def document_action(
        request: Request, document_type: str, number: str, action: str
    ) -> JSONResponse:
        if action.lower() not in DOCUMENT_ACTIONS:
            raise _unknown_action(action)
        return _apply_action(
            state, request, document_type=document_type, number=number, action=action.lower()
        )

    @router.post(_ROUTE + "/{number}/action/{action}")
    async def invoice_action(request: Request, number: str, action: str) -> JSONResponse:
        if action.lower() not in INVOICE_ACTIONS:
            raise _unknown_action(action)
        return _apply_action(
            state, request, document_type="Invoice", number=number, action=action.lower()
        )

    @router.put(_ROUTE + "/{document_type}/{number}")
    async def put_document(request: Request, document_type: str, number: str) -> Response:
        return await _apply_put(state, request, document_type=document_type, number=number)

    @router.put(_ROUTE + "/{number}")
    async def put_invoice(request: Request, number: str) -> Response:
        return await _apply_put(state, request, document_type="Invoice", number=number)

    return router
