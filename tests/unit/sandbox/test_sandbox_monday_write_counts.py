"""The monday sandbox counts, per board, the items the API created and the changes it made to
existing items (what a sink did: the demo's summary reads them), not a warehouse user's
change through the admin route."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from monday_kit import BOARD, CHANGE, create, gql, post
from sandbox_kit import START

from sandbox import SandboxConfig, create_app

pytestmark = pytest.mark.anyio


async def test_creates_and_updates_are_counted_per_board(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    config = SandboxConfig.model_validate({"clock_speed": 0, "clock_start": START})
    async with make_client(create_app(config)) as client:
        first = await create(client, "PO-1", {"text_visma_id": "c1/purchaseOrder/PO-1"})
        await create(client, "PO-2", {})
        await gql(client, CHANGE, {"board": BOARD, "item": first, "values": {"text_invoice": "1"}})
        unknown = {"status_receipt": {"label": "Nope"}}
        refused = await post(client, CHANGE, {"board": BOARD, "item": first, "values": unknown})
        assert "errors" in refused.json()  # a refused write changes nothing, counts nothing
        warehouse = await client.post(
            f"/monday/_sandbox/boards/{BOARD}/items/{first}/change",
            json={"column_id": "status_receipt", "value": {"label": "Received"}},
        )
        assert warehouse.status_code == 200, warehouse.text

        stats = (await client.get("/monday/_sandbox/stats")).json()

    assert stats["items_created"] == {BOARD: 2}
    assert stats["item_updates"] == {BOARD: 1}
