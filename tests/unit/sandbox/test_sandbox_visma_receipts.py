"""Purchase receipts in the Visma sandbox: created as the public API creates them, and
moving their order so that anyone reading the order sees what was received."""

from __future__ import annotations

import httpx
import pytest
from sandbox_kit import visma_token

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

API = "/visma/v1"
ADMIN = "/visma/_sandbox"
COMPANY = "tenant-se-1"


async def _order(client: httpx.AsyncClient, *, status: str = "Open") -> str:
    lines = [
        {"lineNbr": 1, "inventoryNumber": "ART-1", "orderQty": 5.0, "unitCost": 10.0},
        {"lineNbr": 2, "inventoryNumber": "ART-2", "orderQty": 2.0, "unitCost": 100.0},
    ]
    body = {"company": COMPANY, "fields": {"status": status, "lines": lines}}
    response = await client.post(f"{ADMIN}/entities/purchaseOrder", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["orderNbr"])


def _receipt_body(order: str, *quantities: tuple[int, float], note: str = "") -> dict[str, object]:
    return {
        "receiptType": {"value": "PoReceipt"},
        "note": {"value": note},
        "lines": [
            {
                "operation": "Insert",
                "poOrderNbr": {"value": order},
                "poLineNbr": {"value": line},
                "receiptQty": {"value": qty},
            }
            for line, qty in quantities
        ],
    }


async def _receipts(client: httpx.AsyncClient, order: str) -> dict[str, object]:
    response = await client.get(f"{ADMIN}/purchase-orders/{COMPANY}/{order}/receipts")
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


async def test_a_created_receipt_is_at_its_location_and_completes_its_order(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    order = await _order(client)
    before = await client.get(f"{API}/purchaseorder/{order}", headers=auth)

    created = await client.post(
        f"{API}/PurchaseReceipt", headers=auth,
        json=_receipt_body(order, (1, 5), (2, 2), note="mlc:cmd-1"),
    )  # fmt: skip

    assert created.status_code == 201, created.text
    assert created.content == b""
    read = await client.get(created.headers["Location"], headers=auth)
    assert read.status_code == 200
    assert read.headers["ETag"] == created.headers["ETag"]
    receipt = read.json()
    assert receipt["note"] == "mlc:cmd-1"
    assert [(line["poOrderNbr"], line["receiptQty"]) for line in receipt["lines"]] == [
        (order, 5.0),
        (order, 2.0),
    ]
    after = await client.get(f"{API}/purchaseorder/{order}", headers=auth)
    assert after.json()["status"] == "Completed"
    assert [line["qtyOnReceipts"] for line in after.json()["lines"]] == [5.0, 2.0]
    assert after.headers["ETag"] != before.headers["ETag"]
    listed = await _receipts(client, order)
    assert (listed["count"], listed["status"]) == (1, "Completed")


async def test_a_partial_receipt_leaves_the_order_open_and_an_over_receipt_is_refused(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    order = await _order(client)
    partial = await client.post(
        f"{API}/PurchaseReceipt", headers=auth, json=_receipt_body(order, (1, 3))
    )
    assert partial.status_code == 201, partial.text

    over = await client.post(
        f"{API}/PurchaseReceipt", headers=auth, json=_receipt_body(order, (1, 3))
    )

    assert over.status_code == 400
    assert "2 outstanding" in over.json()["ExceptionMessage"]
    listed = await _receipts(client, order)
    assert (listed["count"], listed["status"]) == (1, "Open")


@pytest.mark.parametrize(
    "body",
    [
        {"lines": [{"operation": "Insert", "poOrderNbr": "X", "poLineNbr": {"value": 1},
                    "receiptQty": {"value": 1}}]},  # a bare scalar: write DTOs wrap them
        {"lines": []},
        {"receiptType": {"value": "ReturnReceipt"}, "lines": [{}]},
    ],
)  # fmt: skip
async def test_a_malformed_receipt_is_refused_with_visma_s_error_body(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    auth = await visma_token(client)

    refused = await client.post(f"{API}/PurchaseReceipt", headers=auth, json=body)

    assert refused.status_code == 400
    assert refused.json()["ExceptionType"] == "IPPException"


async def test_an_order_that_is_not_open_takes_no_receipt(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    order = await _order(client, status="On Hold")

    refused = await client.post(
        f"{API}/PurchaseReceipt", headers=auth, json=_receipt_body(order, (1, 1))
    )

    assert refused.status_code == 400
    assert "On Hold" in refused.json()["ExceptionMessage"]
    assert (await _receipts(client, order))["count"] == 0


async def test_the_order_action_receives_everything_outstanding_under_if_match(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    order = await _order(client)
    stale = (await client.get(f"{API}/purchaseorder/{order}", headers=auth)).headers["ETag"]
    await client.post(f"{API}/PurchaseReceipt", headers=auth, json=_receipt_body(order, (1, 1)))
    action = f"{API}/purchaseorder/{order}/action/createpurchasereceipt"

    conflict = await client.post(action, headers=auth | {"If-Match": stale})
    current = (await client.get(f"{API}/purchaseorder/{order}", headers=auth)).headers["ETag"]
    done = await client.post(action, headers=auth | {"If-Match": current})
    again = await client.post(action, headers=auth)

    assert conflict.status_code == 412
    assert done.status_code == 200, done.text
    assert done.json()["actionResult"] == "Done"
    receipt = await client.get(
        f"{API}/PurchaseReceipt/{done.json()['referenceNumber']}", headers=auth
    )
    assert [line["receiptQty"] for line in receipt.json()["lines"]] == [4.0, 2.0]
    assert again.status_code == 400
    listed = await _receipts(client, order)
    assert (listed["count"], listed["status"]) == (2, "Completed")
