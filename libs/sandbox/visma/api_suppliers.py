"""The public routes that create and update suppliers and create supplier invoices.

- ``POST /v1/supplier`` (SupplierUpdateDto): 201 Created, no body, the supplier in
  ``Location`` and its ``ETag`` (API_FACTS section 1, "Create"). Without ``number`` the next
  free one is given; a number already taken is refused (400).
- ``PUT /v1/supplier/{supplierCd}``: honours ``If-Match`` (412 on a stale ETag) and answers
  204 with the new ``ETag``.
- ``POST /v1/supplierInvoice`` (SupplierInvoiceUpdateDto): ``supplierNumber`` must name an
  existing supplier (400 otherwise); lines come with ``operation: "Insert"``; 201 Created
  with ``Location`` ``/v1/supplierInvoice/{documentType}/{referenceNumber}``. The PUT is in
  ``sandbox.visma.api_writes`` with the invoice actions.

Created records are ordinary records of the store: they appear in the lists (the poller sees
them) and fire the ``Created`` webhooks like any other.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from sandbox.visma.api_writes import api_base, check_if_match, etag_header
from sandbox.visma.entities import SPECS_BY_NAME
from sandbox.visma.seeding import CannotCreate
from sandbox.visma.state import Access, VismaApiError, VismaState
from sandbox.visma.supplier_writes import (
    WriteRefused,
    invoice_updates,
    supplier_ref,
    supplier_updates,
)

SUPPLIER = SPECS_BY_NAME["supplier"]
INVOICE = SPECS_BY_NAME["supplierInvoice"]
_NEW_SUPPLIER_BLANKS = {
    "status": "Active",
    "currencyId": None,
    "vatRegistrationId": None,
    "corporateId": None,
    "mainAddress": None,
    "mainContact": None,
    "note": None,
}


def _authorize(state: VismaState, request: Request, route: str) -> Access:
    return state.authorize(
        request.headers.get("authorization"), request.headers.get("ipp-company-id"), route
    )


async def _body(request: Request, access: Access) -> object:
    try:
        return json.loads(await request.body() or b"null")
    except json.JSONDecodeError as exc:
        message = f"unreadable body: {exc}"
        raise VismaApiError(400, message, "invalid_request", access.headers) from exc


def _refused(message: str, access: Access) -> VismaApiError:
    return VismaApiError(400, message, "invalid_request", access.headers)


def _created(request: Request, access: Access, path: str, record: Any) -> Response:
    location = f"{api_base(request)}{path}"
    return Response(
        status_code=201, headers=access.headers | etag_header(record) | {"Location": location}
    )


def build_supplier_router(state: VismaState) -> APIRouter:
    router = APIRouter()

    @router.post(SUPPLIER.route)
    async def create_supplier(request: Request) -> Response:
        access = _authorize(state, request, SUPPLIER.route)
        try:
            updates = supplier_updates(await _body(request, access))
            if "name" not in updates:
                raise WriteRefused("A supplier needs a name.")
            record = state.create(SUPPLIER, access.company, _NEW_SUPPLIER_BLANKS | updates)
        except (WriteRefused, CannotCreate) as exc:
            raise _refused(str(exc), access) from exc
        return _created(request, access, f"{SUPPLIER.route}/{record.short_id}", record)

    @router.put(SUPPLIER.route + "/{supplier_cd}")
    async def update_supplier(request: Request, supplier_cd: str) -> Response:
        access = _authorize(state, request, SUPPLIER.route)
        record = state.store.get(SUPPLIER.name, access.company, supplier_cd)
        if record is None:
            raise VismaApiError(
                404, f"Supplier {supplier_cd} not found.", "not_found", access.headers
            )
        check_if_match(request, record, access)
        try:
            updates = supplier_updates(await _body(request, access))
        except WriteRefused as exc:
            raise _refused(str(exc), access) from exc
        if updates.get("number", record.short_id) != record.short_id:
            raise _refused("A supplier's number cannot be changed.", access)
        state.change(record, updates)
        return Response(status_code=204, headers=access.headers | etag_header(record))

    @router.post(INVOICE.route)
    async def create_supplier_invoice(request: Request) -> Response:
        access = _authorize(state, request, INVOICE.route)
        try:
            fields = new_invoice_fields(state, access.company, await _body(request, access))
            record = state.create(INVOICE, access.company, fields)
        except (WriteRefused, CannotCreate) as exc:
            raise _refused(str(exc), access) from exc
        path = f"{INVOICE.route}/{record.fields['documentType']}/{record.short_id}"
        return _created(request, access, path, record)

    return router


def new_invoice_fields(state: VismaState, company: str, body: object) -> dict[str, Any]:
    """A new invoice's fields from its create DTO: supplier, dates, lines, amounts."""
    updates = invoice_updates(body, existing_lines=[])
    if "supplierNumber" not in updates:
        raise WriteRefused("A supplier invoice needs supplierNumber.")
    if "date" not in updates:
        raise WriteRefused("A supplier invoice needs date.")
    supplier = supplier_ref(state.store, company, updates.pop("supplierNumber"))
    hold = updates.pop("hold", True)
    amount = updates.get("amount", 0.0)
    return {
        "documentType": "Invoice",
        "status": "Hold" if hold else "Balanced",
        "approvalStatus": "PendingApproval",
        "supplier": supplier,
        "dueDate": updates["date"],
        "currencyId": "DKK",
        "vatAmount": 0.0,
        "supplierReference": "",
        "description": "",
        "invoiceLines": [],
        **updates,
        "amount": amount,
        "balance": amount,
    }
