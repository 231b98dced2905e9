"""The public routes that create purchase receipts, and the admin view of an order's receipts.

- ``POST /v1/PurchaseReceipt`` creates a receipt from a PurchaseReceipt update DTO: 201
  Created with the new receipt in ``Location`` and its ``ETag``, no body (API_FACTS section 1,
  "Create"). ``GET /v1/PurchaseReceipt[/{receiptNumber}]`` are the generic entity routes.
- ``POST /v1/purchaseorder/{purchaseorderNbr}/action/createpurchasereceipt`` receives what
  the order still has outstanding; it honours ``If-Match`` on the order's ETag (412 on a
  stale one) like every action and answers the ActionResultDto shape (``actionId``,
  ``actionResult``, ``errorInfo``). The new receipt's number in ``referenceNumber`` is an
  ASSUMPTION (the public spec's result DTO for this action is not known to us).
- ``GET /_sandbox/purchase-orders/{company}/{orderNbr}/receipts``: the order, its status and
  every receipt on it, so a test can count receipts.

What a receipt does to its order lives in ``sandbox.visma.receipts``.
"""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from sandbox.visma.admin_entities import entity_view
from sandbox.visma.api_writes import api_base, check_if_match, etag_header
from sandbox.visma.receipts import (
    ORDER,
    RECEIPT,
    ReceiptRefused,
    find_order,
    parse_receipt,
    receipts_of,
    receive,
    whole_order,
)
from sandbox.visma.state import Access, VismaApiError, VismaState


def _authorize(state: VismaState, request: Request, route: str) -> Access:
    return state.authorize(
        request.headers.get("authorization"), request.headers.get("ipp-company-id"), route
    )


def _refused(exc: ReceiptRefused, access: Access) -> VismaApiError:
    return VismaApiError(400, str(exc), "invalid_request", access.headers)


def build_receipt_router(state: VismaState) -> APIRouter:
    router = APIRouter()

    @router.post(RECEIPT.route)
    async def create_receipt(request: Request) -> Response:
        access = _authorize(state, request, RECEIPT.route)
        try:
            lines, texts = parse_receipt(json.loads(await request.body() or b"null"))
            receipt = receive(state, access.company, lines, texts)
        except json.JSONDecodeError as exc:
            raise VismaApiError(400, f"unreadable body: {exc}", "invalid_request") from exc
        except ReceiptRefused as exc:
            raise _refused(exc, access) from exc
        location = f"{api_base(request)}{RECEIPT.route}/{receipt.short_id}"
        headers = access.headers | etag_header(receipt) | {"Location": location}
        return Response(status_code=201, headers=headers)

    @router.post(ORDER.route + "/{order_nbr}/action/createpurchasereceipt")
    async def receive_order(request: Request, order_nbr: str) -> JSONResponse:
        access = _authorize(state, request, ORDER.route)
        order = find_order(state, access.company, order_nbr)
        if order is None:
            message = f"Purchase order {order_nbr} not found."
            raise VismaApiError(404, message, "not_found", access.headers)
        check_if_match(request, order, access)
        lines = whole_order(order)
        if not lines:
            raise VismaApiError(
                400, f"Purchase order {order_nbr} has nothing left to receive.",
                "invalid_action", access.headers,
            )  # fmt: skip
        try:
            receipt = receive(state, access.company, lines, {})
        except ReceiptRefused as exc:
            raise _refused(exc, access) from exc
        body = {
            "actionId": str(uuid.uuid4()),
            "actionResult": "Done",
            "errorInfo": None,
            "referenceNumber": receipt.short_id,
        }
        return JSONResponse(body, headers=access.headers | etag_header(order))

    @router.get("/_sandbox/purchase-orders/{company}/{order_nbr}/receipts")
    async def order_receipts(company: str, order_nbr: str) -> dict[str, object]:
        order = find_order(state, company, order_nbr)
        if order is None:
            raise HTTPException(404, f"no purchase order {order_nbr} in {company}")
        receipts = [entity_view(state, r) for r in receipts_of(state, company, order_nbr)]
        return {
            "company": company,
            "orderNbr": order_nbr,
            "status": order.fields.get("status"),
            "timeStamp": order.timestamp,
            "count": len(receipts),
            "receipts": receipts,
        }

    return router
