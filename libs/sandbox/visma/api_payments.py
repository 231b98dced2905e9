"""The public routes that create and update supplier payments.

- ``POST /v1/supplierPayment``: 201 Created, no body, the payment in ``Location``
  (``/v1/supplierPayment/{type}/{refNbr}``) and its ``ETag``; the invoices it pays lose
  balance at once (``sandbox.visma.supplier_payments``).
- ``PUT /v1/supplierPayment/{type}/{refNbr}`` (and ``/{refNbr}`` for a ``Payment``):
  honours ``If-Match`` (412 on a stale ETag), answers 204 with the new ``ETag``; a changed
  amount moves the paid invoices' balances by the difference. The supplier cannot change.

The public spec lists no PUT for supplier payments (API_FACTS section 1): the update route
is ASSUMED, so the writer can correct a payment whose source changed (docs/visma-writer.md).
Reads and lists are the generic ones (``sandbox.visma.api``), with the list filters
``supplier`` and ``paymentRef`` (``sandbox.visma.list_filters``). Each create and update
counts in ``GET /visma/_sandbox/actions`` (``create``, ``update``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from sandbox.visma.api_writes import api_base, check_if_match, etag_header
from sandbox.visma.entities import SPECS_BY_NAME
from sandbox.visma.seeding import CannotCreate
from sandbox.visma.state import Access, VismaApiError, VismaState
from sandbox.visma.store import Record
from sandbox.visma.supplier_payments import (
    apply_payment_lines,
    check_totals,
    payment_updates,
    settle,
)
from sandbox.visma.supplier_writes import WriteRefused, supplier_ref

PAYMENT = SPECS_BY_NAME["supplierPayment"]
_ROUTE = PAYMENT.route


def _authorize(state: VismaState, request: Request) -> Access:
    return state.authorize(
        request.headers.get("authorization"), request.headers.get("ipp-company-id"), _ROUTE
    )


async def _body(request: Request, access: Access) -> dict[str, Any]:
    try:
        return payment_updates(json.loads(await request.body() or b"null"))
    except json.JSONDecodeError as exc:
        raise _refused(f"unreadable body: {exc}", access) from exc
    except WriteRefused as exc:
        raise _refused(str(exc), access) from exc


def _refused(message: str, access: Access) -> VismaApiError:
    return VismaApiError(400, message, "invalid_request", access.headers)


def _location(request: Request, record: Record) -> str:
    return f"{api_base(request)}{_ROUTE}/{record.fields['type']}/{record.short_id}"


def _new_payment(state: VismaState, company: str, updates: dict[str, Any]) -> dict[str, Any]:
    if "supplier" not in updates or "paymentAmount" not in updates:
        raise WriteRefused("A supplier payment needs supplier and paymentAmount.")
    supplier = supplier_ref(state.store, company, updates.pop("supplier"))
    lines = apply_payment_lines([], updates.pop("paymentLines", []))
    fields: dict[str, Any] = {
        "type": "Payment",
        "status": "Released",
        "hold": False,
        "supplier": supplier,
        "paymentMethod": {"id": "BANK"},
        "applicationDate": state.clock.now().date().isoformat() + "T00:00:00",
        "currency": None,
        "paymentRef": None,
        "description": None,
        "allocations": [],
        **updates,
        "paymentLines": lines,
        "unappliedBalance": 0.0,
    }
    check_totals(fields)
    return fields


def _settle(state: VismaState, company: str, fields: dict[str, Any], before: list[Any]) -> Any:
    """Checks what the payment does to its invoices; returns how to apply it (all checked)."""
    changes = settle(
        state.store, company, supplier=str(fields["supplier"]["number"]),
        before=before, after=fields["paymentLines"],
    )  # fmt: skip

    def apply() -> None:
        for change in changes:
            state.change(change.invoice, change.updates)

    return apply


def _payment_changes(record: Record, updates: dict[str, Any]) -> dict[str, Any]:
    """The fields an update changes, lines applied; WriteRefused for what cannot change."""
    supplier = updates.pop("supplier", record.fields["supplier"]["number"])
    if supplier != record.fields["supplier"]["number"]:
        raise WriteRefused("A payment's supplier cannot be changed.")
    if updates.get("type", record.fields["type"]) != record.fields["type"]:
        raise WriteRefused("A payment's type cannot be changed.")
    if "paymentLines" in updates:
        before = list(record.fields.get("paymentLines") or [])
        updates["paymentLines"] = apply_payment_lines(before, updates["paymentLines"])
    check_totals(record.fields | updates)
    return updates


def build_payment_router(state: VismaState) -> APIRouter:
    router = APIRouter()

    @router.post(_ROUTE)
    async def create_payment(request: Request) -> Response:
        access = _authorize(state, request)
        updates = await _body(request, access)
        try:
            fields = _new_payment(state, access.company, updates)
            pay = _settle(state, access.company, fields, [])
            record = state.create(PAYMENT, access.company, fields)
        except (WriteRefused, CannotCreate) as exc:
            raise _refused(str(exc), access) from exc
        pay()
        state.actions.record(access.company, record.entity_id, "create")
        location = {"Location": _location(request, record)}
        return Response(status_code=201, headers=access.headers | etag_header(record) | location)

    async def update(request: Request, payment_type: str, number: str) -> Response:
        access = _authorize(state, request)
        record = state.store.get(PAYMENT.name, access.company, f"{payment_type}:{number}")
        if record is None:
            message = f"SupplierPayment {payment_type} {number} not found."
            raise VismaApiError(404, message, "not_found", access.headers)
        check_if_match(request, record, access)
        updates = await _body(request, access)
        try:
            updates = _payment_changes(record, updates)
            before = list(record.fields.get("paymentLines") or [])
            pay = _settle(state, access.company, record.fields | updates, before)
        except WriteRefused as exc:
            raise _refused(str(exc), access) from exc
        state.change(record, updates)
        pay()
        state.actions.record(access.company, record.entity_id, "update")
        headers = access.headers | etag_header(record) | {"Location": _location(request, record)}
        return Response(status_code=204, headers=headers)

    @router.put(_ROUTE + "/{payment_type}/{number}")
    async def put_typed(request: Request, payment_type: str, number: str) -> Response:
        return await update(request, payment_type, number)

    @router.put(_ROUTE + "/{number}")
    async def put_payment(request: Request, number: str) -> Response:
        return await update(request, "Payment", number)

    return router
