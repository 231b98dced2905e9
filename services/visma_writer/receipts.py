"""RecordPurchaseReceipt: one purchase receipt per command, for what the order has outstanding.

The kind's part of the shared machinery (`documents.py`):

- find: the receipts of the order whose `note` carries this command's mark. The mark is
  written with the receipt in the same POST, so a receipt made by an attempt that died before
  its DONE is found by the next attempt, never made twice.
- read: the order and its ETag.
- conflict: the order is not `Open`, or has nothing left to receive (someone received it in
  Visma meanwhile): a person reviews the difference; no receipt is forced on the order.
- write: `POST /v1/PurchaseReceipt` of every line's outstanding quantity, with the mark.
"""

from __future__ import annotations

from decimal import Decimal

from events.visma_writes import FieldDifference, RecordPurchaseReceipt
from visma_client import PurchaseReceipts, ReceiptLineRequest, VismaClient
from visma_client.models_procurement import PurchaseOrderDto
from visma_writer.documents import Conflict, Target, Written

RECEIVABLE = "Open"
DEFAULT_ORDER_TYPE = "RegularOrder"


def receipt_mark(command: RecordPurchaseReceipt) -> str:
    """What the receipt's note says: who asked, from where, and the command (the lookup key)."""
    where = f"{command.source_system} {command.source_ref}"
    who = f" by {command.requested_by}" if command.requested_by else ""
    return f"ml-connector: received in {where}{who} [{command.command_id}]"


def order_type(command: RecordPurchaseReceipt) -> str:
    """`RegularOrder` of `t/c/purchaseOrder/RegularOrder:PO-1` (the order's entity key)."""
    visma_id = command.entity_id.rpartition("/")[2]
    kind, colon, _ = visma_id.partition(":")
    return kind if colon and kind else DEFAULT_ORDER_TYPE


def outstanding_lines(
    order: PurchaseOrderDto, *, order_kind: str, order_nbr: str
) -> list[ReceiptLineRequest]:
    lines = []
    for line in order.lines:
        left = (line.order_qty or Decimal(0)) - (line.qty_on_receipts or Decimal(0))
        if line.line_nbr is not None and left > 0:
            lines.append(ReceiptLineRequest(order_kind, order_nbr, line.line_nbr, left))
    return lines


class PurchaseReceiptKind:
    name = "RecordPurchaseReceipt"

    async def find(self, visma: VismaClient, command: RecordPurchaseReceipt) -> Written | None:
        mark = f"[{command.command_id}]"
        for receipt in await PurchaseReceipts(visma).receipts_for_order(command.order_number):
            if receipt.receipt_nbr and mark in (receipt.note or ""):
                return Written(receipt.receipt_nbr, receipt.time_stamp)
        return None

    async def read(
        self, visma: VismaClient, command: RecordPurchaseReceipt
    ) -> Target[PurchaseOrderDto]:
        version = await PurchaseReceipts(visma).read_order(
            order_type(command), command.order_number
        )
        return Target(version.order, version.etag, f"purchase order {command.order_number}")

    def conflict(
        self, command: RecordPurchaseReceipt, target: Target[PurchaseOrderDto]
    ) -> Conflict | None:
        order, differences = target.state, []
        if order.status != RECEIVABLE:
            differences.append(FieldDifference(
                field="status", expected=RECEIVABLE, found=str(order.status)
            ))  # fmt: skip
        lines = outstanding_lines(
            order, order_kind=order_type(command), order_nbr=command.order_number
        )
        if not lines:
            ordered = sum((x.order_qty or Decimal(0) for x in order.lines), Decimal(0))
            received = sum((x.qty_on_receipts or Decimal(0) for x in order.lines), Decimal(0))
            differences.append(FieldDifference(
                field="lines.qtyOnReceipts",
                expected=f"less than ordered ({ordered.normalize():f})",
                found=f"{received.normalize():f} already on receipts",
            ))  # fmt: skip
        if not differences:
            return None
        return Conflict(
            f"{command.source_system} {command.source_ref} reported the goods received, but "
            "the order cannot take a receipt as it stands in Visma",
            differences,
        )

    async def write(
        self,
        visma: VismaClient,
        command: RecordPurchaseReceipt,
        target: Target[PurchaseOrderDto],
    ) -> Written:
        lines = outstanding_lines(
            target.state, order_kind=order_type(command), order_nbr=command.order_number
        )
        created = await PurchaseReceipts(visma).create(lines, note=receipt_mark(command))
        return Written(created.number, created.etag)
