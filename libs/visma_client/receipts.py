"""Purchase receipts: reading an order with its ETag, finding its receipts, creating one.

Routes (API_FACTS section 1): `GET /v1/purchaseorder/{purchaseOrderNumber}`,
`GET,POST /v1/PurchaseReceipt`, `GET /v1/PurchaseReceipt/{receiptNumber}` and
`POST /v1/purchaseorder/{purchaseorderNbr}/action/createpurchasereceipt`.

A create has no idempotency key in Visma. What makes it safe to repeat is a reference the
caller writes on the receipt (its `note`) and looks for first: `receipts_for_order` lists
the receipts with a line on the order (it sends `poOrderNbr` as a filter and also checks the
lines itself, since whether Visma filters on it is UNCONFIRMED). Write DTOs wrap each scalar
as `{"value": ...}`; a line's `operation` is a plain string.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from visma_client.actions import bare_etag
from visma_client.client import Created, VismaClient
from visma_client.dto import dto_value
from visma_client.entities import VISMA_ENTITIES
from visma_client.errors import VismaContractError
from visma_client.models_procurement import PurchaseOrderDto, PurchaseReceiptDto

__all__ = ["OrderVersion", "PurchaseReceipts", "ReceiptLineRequest"]

_ORDER = VISMA_ENTITIES["purchaseOrder"]
_RECEIPT = VISMA_ENTITIES["purchaseReceipt"]
RECEIPT_TYPE = "PoReceipt"


@dataclass(frozen=True)
class OrderVersion:
    """One read of a purchase order and the ETag (bare) that names that version."""

    order: PurchaseOrderDto
    etag: str


@dataclass(frozen=True)
class ReceiptLineRequest:
    order_type: str
    order_nbr: str
    line_nbr: int
    quantity: Decimal


class PurchaseReceipts:
    """The purchase-receipt calls of one company's `VismaClient`."""

    def __init__(self, client: VismaClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"PurchaseReceipts({self._client!r})"

    async def read_order(self, order_type: str, order_nbr: str) -> OrderVersion:
        dto, header = await self._client.get_entity(_ORDER, f"{order_type}:{order_nbr}")
        if not isinstance(dto, PurchaseOrderDto):
            raise VismaContractError(f"purchase order {order_nbr} read as {type(dto).__name__}")
        etag = bare_etag(header) or dto.time_stamp
        if not etag:
            raise VismaContractError(f"purchase order {order_nbr} came without an ETag")
        return OrderVersion(dto, etag)

    async def receipts_for_order(self, order_nbr: str) -> list[PurchaseReceiptDto]:
        """Every receipt with a line on the order, as Visma lists them."""
        found: list[PurchaseReceiptDto] = []
        pages = self._client.iter_filtered_pages(
            _RECEIPT.path, PurchaseReceiptDto, filters={"poOrderNbr": order_nbr}
        )
        async for page in pages:
            found += [r for r in page.items if any(x.po_order_nbr == order_nbr for x in r.lines)]
        return found

    async def read_receipt(self, receipt_nbr: str) -> tuple[PurchaseReceiptDto, str | None]:
        dto, header = await self._client.get_entity(_RECEIPT, receipt_nbr)
        if not isinstance(dto, PurchaseReceiptDto):
            raise VismaContractError(f"receipt {receipt_nbr} read as {type(dto).__name__}")
        return dto, bare_etag(header) or dto.time_stamp

    async def create(
        self, lines: list[ReceiptLineRequest], *, note: str, supplier_ref: str = ""
    ) -> Created:
        """`POST /v1/PurchaseReceipt`: one receipt of `lines`, carrying `note`."""
        body: dict[str, Any] = {
            "receiptType": dto_value(RECEIPT_TYPE),
            "note": dto_value(note),
            "lines": [
                {
                    "operation": "Insert",
                    "poOrderType": dto_value(line.order_type),
                    "poOrderNbr": dto_value(line.order_nbr),
                    "poLineNbr": dto_value(line.line_nbr),
                    "receiptQty": dto_value(float(line.quantity)),
                }
                for line in lines
            ],
        }
        if supplier_ref:
            body["supplierRef"] = dto_value(supplier_ref)
        created = await self._client.create(_RECEIPT.path, body=body)
        return Created(created.location, created.number, bare_etag(created.etag))

    async def create_from_order(self, order_nbr: str, *, etag: str) -> str | None:
        """The order action: receives all it has outstanding, if the order is still `etag`.

        Returns the order's new ETag. A stale `etag` raises `VismaPreconditionFailed`.
        """
        path = f"{_ORDER.path}/{quote(order_nbr, safe='')}/action/createpurchasereceipt"
        return bare_etag(await self._client.write("POST", path, body={}, if_match=f'"{etag}"'))
