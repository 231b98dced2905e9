"""Purchase receipts against purchase orders: what a receipt does to its order.

The public API creates a receipt with ``POST /v1/PurchaseReceipt`` (a PurchaseReceipt
update DTO, each scalar wrapped as ``{"value": ...}``, lines with ``operation``) or from an
order with ``POST /v1/purchaseorder/{purchaseorderNbr}/action/createpurchasereceipt``.
Visma does not publish how a receipt moves its order, so the rules below are an
ASSUMPTION after the ERP's purchasing model: only an ``Open`` order takes receipts; each
order line counts what receipts took in ``qtyOnReceipts``; a line may not receive more than
it has outstanding (400, nothing changes); once every line is fully received the order's
status becomes ``Completed``. Both the receipt and the order change through
:meth:`VismaState.create` / :meth:`VismaState.change`, so a poller and webhook subscribers
see them and the order's ETag moves.

The line field naming the order line (``poLineNbr``) and the receipt's ``note`` and
``supplierRef`` as written and read back are UNCONFIRMED names; ``poOrderNbr``,
``receiptQty`` and ``receiptType`` follow the read DTO the sandbox already serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.visma.entities import SPECS_BY_NAME
from sandbox.visma.records import date_value, money
from sandbox.visma.state import VismaState
from sandbox.visma.store import Record

ORDER = SPECS_BY_NAME["purchaseOrder"]
RECEIPT = SPECS_BY_NAME["purchaseReceipt"]
RECEIVABLE = "Open"
FULLY_RECEIVED = "Completed"
RECEIPT_TYPE = "PoReceipt"
_TEXT_FIELDS = ("note", "supplierRef")


class ReceiptRefused(ValueError):
    """The receipt cannot be made as asked; the message says why (a 400 answer)."""


@dataclass(frozen=True)
class ReceiptLine:
    order_nbr: str
    line_nbr: int
    quantity: Decimal


def outstanding(line: dict[str, Any]) -> Decimal:
    return Decimal(str(line.get("orderQty") or 0)) - Decimal(str(line.get("qtyOnReceipts") or 0))


def find_order(state: VismaState, company: str, order_nbr: str) -> Record | None:
    return state.store.get(ORDER.name, company, f"RegularOrder:{order_nbr}") or state.store.get(
        ORDER.name, company, order_nbr
    )


def receipts_of(state: VismaState, company: str, order_nbr: str) -> list[Record]:
    """Every receipt with a line on the order, in creation order."""
    return [
        r
        for r in state.store.list(RECEIPT.name, company)
        if any(line.get("poOrderNbr") == order_nbr for line in r.fields.get("lines", []))
    ]


def _unwrap(body: dict[str, Any], name: str) -> Any:
    wrapped = body.get(name)
    if wrapped is None:
        return None
    if not isinstance(wrapped, dict) or "value" not in wrapped:
        raise ReceiptRefused(f'{name} must be given as {{"value": ...}}')
    return wrapped["value"]


def _line_of(raw: object) -> ReceiptLine:
    if not isinstance(raw, dict):
        raise ReceiptRefused("each line must be an object")
    if raw.get("operation", "Insert") != "Insert":
        raise ReceiptRefused("a new receipt's lines take operation Insert")
    order_nbr, line_nbr = _unwrap(raw, "poOrderNbr"), _unwrap(raw, "poLineNbr")
    quantity = _unwrap(raw, "receiptQty")
    if not order_nbr or line_nbr is None or quantity is None:
        raise ReceiptRefused("each line needs poOrderNbr, poLineNbr and receiptQty")
    try:
        qty = Decimal(str(quantity))
        number = int(line_nbr)
    except (ArithmeticError, ValueError) as exc:
        raise ReceiptRefused(f"unreadable line number or quantity: {exc}") from exc
    if qty <= 0:
        raise ReceiptRefused("receiptQty must be positive")
    return ReceiptLine(str(order_nbr), number, qty)


def parse_receipt(body: object) -> tuple[list[ReceiptLine], dict[str, str]]:
    """The lines and the text fields of a PurchaseReceipt update DTO; ReceiptRefused if bad."""
    if not isinstance(body, dict):
        raise ReceiptRefused("The body must be a PurchaseReceipt object.")
    kind = _unwrap(body, "receiptType")
    if kind not in (None, RECEIPT_TYPE):
        raise ReceiptRefused(f"the sandbox makes receipts of type {RECEIPT_TYPE} only")
    raw_lines = body.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise ReceiptRefused("a receipt needs at least one line")
    texts = {name: str(_unwrap(body, name)) for name in _TEXT_FIELDS if body.get(name)}
    return [_line_of(raw) for raw in raw_lines], texts


def whole_order(order: Record) -> list[ReceiptLine]:
    """A receipt of everything the order still has outstanding (the order action's receipt)."""
    nbr = str(order.fields["orderNbr"])
    return [
        ReceiptLine(nbr, int(line["lineNbr"]), outstanding(line))
        for line in order.fields.get("lines", [])
        if outstanding(line) > 0
    ]


def receive(
    state: VismaState, company: str, lines: list[ReceiptLine], texts: dict[str, str]
) -> Record:
    """Creates the receipt and moves its order; refuses (nothing changed) what cannot be."""
    orders = {line.order_nbr for line in lines}
    if len(orders) != 1:
        raise ReceiptRefused("the sandbox takes receipts for one purchase order at a time")
    order = find_order(state, company, orders.pop())
    if order is None:
        raise ReceiptRefused(f"Purchase order {lines[0].order_nbr} not found.")
    _check_receivable(order, lines)
    receipt = state.create(RECEIPT, company, _receipt_fields(state, order, lines, texts))
    state.change(order, _order_updates(order, lines))
    return receipt


def _check_receivable(order: Record, lines: list[ReceiptLine]) -> None:
    status = order.fields.get("status")
    if status != RECEIVABLE:
        raise ReceiptRefused(
            f"Purchase order {order.short_id} is {status}; only an {RECEIVABLE} order can be "
            "received."
        )
    by_nbr = {int(line["lineNbr"]): line for line in order.fields.get("lines", [])}
    asked: dict[int, Decimal] = {}
    for line in lines:
        if line.line_nbr not in by_nbr:
            raise ReceiptRefused(f"Purchase order {order.short_id} has no line {line.line_nbr}.")
        asked[line.line_nbr] = asked.get(line.line_nbr, Decimal(0)) + line.quantity
    for nbr, qty in asked.items():
        if qty > outstanding(by_nbr[nbr]):
            raise ReceiptRefused(
                f"Line {nbr} of purchase order {order.short_id} has "
                f"{outstanding(by_nbr[nbr]).normalize():f} outstanding; "
                f"{qty.normalize():f} cannot be received."
            )


def _receipt_fields(
    state: VismaState, order: Record, lines: list[ReceiptLine], texts: dict[str, str]
) -> dict[str, Any]:
    by_nbr = {int(line["lineNbr"]): line for line in order.fields.get("lines", [])}
    total = sum((line.quantity for line in lines), Decimal(0))
    amount = sum(
        (
            line.quantity * Decimal(str(by_nbr[line.line_nbr].get("unitCost") or 0))
            for line in lines
        ),
        Decimal(0),
    )
    return {
        "receiptType": RECEIPT_TYPE,
        "status": "Balanced",
        "date": date_value(state.clock.now().date()),
        "supplier": dict(order.fields.get("supplier") or {}),
        "currencyId": order.fields.get("currencyId"),
        "totalQty": float(total),
        "totalAmount": float(money(amount)),
        "note": texts.get("note", ""),
        "supplierRef": texts.get("supplierRef", ""),
        "lines": [
            {
                "lineNbr": n,
                "poOrderType": order.fields.get("orderType", "RegularOrder"),
                "poOrderNbr": line.order_nbr,
                "poLineNbr": line.line_nbr,
                "inventoryNumber": by_nbr[line.line_nbr].get("inventoryNumber"),
                "receiptQty": float(line.quantity),
            }
            for n, line in enumerate(lines, start=1)
        ],
    }


def _order_updates(order: Record, lines: list[ReceiptLine]) -> dict[str, Any]:
    received: dict[int, Decimal] = {}
    for line in lines:
        received[line.line_nbr] = received.get(line.line_nbr, Decimal(0)) + line.quantity
    new_lines = []
    for line in order.fields.get("lines", []):
        on_receipts = Decimal(str(line.get("qtyOnReceipts") or 0))
        on_receipts += received.get(int(line["lineNbr"]), Decimal(0))
        new_lines.append({**line, "qtyOnReceipts": float(on_receipts)})
    updates: dict[str, Any] = {"lines": new_lines}
    if all(outstanding(line) <= 0 for line in new_lines):
        updates["status"] = FULLY_RECEIVED
    return updates
