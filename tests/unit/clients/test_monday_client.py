"""The monday client against the sandbox: board schema, create, update, find, page, me.

The sandbox runs in-process on a frozen clock; every request the client sends is recorded,
so the tests also check what went over the wire (raw token, pinned API version, variables).
"""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from monday_client_kit import BASE_URL, BOARD, VISMA_ID, client_for, rig, sandbox_app
from pydantic import SecretStr

from monday_client import (
    DOCUMENTS,
    Board,
    MondayAuthError,
    MondayBoardNotFound,
    MondayClient,
    MondayInvalidInput,
)
from sandbox.monday.config import DEMO_MONDAY_TOKEN

pytestmark = pytest.mark.anyio


async def test_the_board_schema_lists_columns_in_board_order_and_groups() -> None:
    async with rig() as r:
        board = await r.client.board(BOARD)
    assert isinstance(board, Board)
    assert board.id == BOARD
    assert board.name == "Procurement"
    assert [c.id for c in board.columns][:4] == [
        "text_visma_id",
        "text_invoice",
        "text_supplier",
        "numbers_amount",
    ]
    assert len(board.columns) == 12
    assert board.columns[1].title == "Invoice "
    receipt = board.column("status_receipt")
    assert receipt is not None
    assert receipt.type == "status"
    assert "Received" in json.dumps(receipt.settings)
    assert [(g.id, g.title) for g in board.groups] == [("topics", "Group Title")]


async def test_an_unknown_board_is_board_not_found() -> None:
    async with rig() as r:
        with pytest.raises(MondayBoardNotFound) as caught:
            await r.client.board("424242")
        with pytest.raises(MondayBoardNotFound):
            await r.client.create_item("424242", item_name="x", column_values={})
    assert caught.value.board_id == "424242"


async def test_a_token_without_access_is_an_auth_error() -> None:
    app = sandbox_app()
    async with rig() as r, client_for(app, r.time, token="not-a-token") as stranger:
        with pytest.raises(MondayAuthError):
            await stranger.board(BOARD)


async def test_requests_carry_the_raw_token_the_pinned_version_and_variables() -> None:
    async with rig() as r:
        await r.client.me()
    request = r.transport.requests[0]
    assert request.method == "POST"
    assert request.url == httpx.URL(f"{BASE_URL}/v2")
    assert request.headers["authorization"] == DEMO_MONDAY_TOKEN
    assert request.headers["api-version"] == "2025-07"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert set(body) == {"query", "variables"}
    assert body["query"] in DOCUMENTS.values()
    assert r.monday.api_versions == {"2025-07"}


async def test_the_token_is_in_no_repr() -> None:
    secret = "s3cr3t-monday-token"
    client = MondayClient(SecretStr(secret), base_url=BASE_URL, api_version="2025-10")
    try:
        assert secret not in repr(client)
        assert secret not in repr(vars(client))
    finally:
        await client.aclose()


def test_an_api_version_that_monday_does_not_publish_is_refused() -> None:
    with pytest.raises(ValueError, match="API-Version"):
        MondayClient(SecretStr("t"), base_url=BASE_URL, api_version="2025-08")


async def test_me_names_the_user_and_account() -> None:
    async with rig() as r:
        me = await r.client.me()
    assert me.account.name == "Nordic Demo"
    assert me.email


async def test_create_then_find_by_the_visma_id_column() -> None:
    async with rig() as r:
        item_id = await r.client.create_item(
            BOARD,
            item_name="INV-1001",
            group_id="topics",
            column_values={VISMA_ID: "SI-1001", "numbers_amount": "1250.5"},
        )
        found = await r.client.find_items(BOARD, column_id=VISMA_ID, value="SI-1001")
        none = await r.client.find_items(BOARD, column_id=VISMA_ID, value="SI-9999")
    assert [i.id for i in found] == [item_id]
    item = found[0]
    assert item.name == "INV-1001"
    assert item.board_id == BOARD
    assert item.group_id == "topics"
    assert item.text("numbers_amount") == "1250.5"
    assert item.column_values[VISMA_ID].value == "SI-1001"
    assert item.updated_at is not None
    assert none == []
    # column_values travel as monday's JSON string in the variables, never in the document
    create = r.transport.bodies()[0]
    assert json.loads(create["variables"]["values"])[VISMA_ID] == "SI-1001"
    assert "SI-1001" not in create["query"]


async def test_status_labels_are_not_created_unless_asked() -> None:
    async with rig() as r:
        with pytest.raises(MondayInvalidInput) as caught:
            await r.client.create_item(
                BOARD, item_name="x", column_values={"status_receipt": {"label": "Lost"}}
            )
        created = await r.client.create_item(
            BOARD,
            item_name="y",
            column_values={"status_receipt": {"label": "Lost"}},
            create_labels_if_missing=True,
        )
        [item] = await r.client.find_items(BOARD, column_id="status_receipt", value="Lost")
    assert caught.value.code == "ColumnValueException"
    assert caught.value.column_id == "status_receipt"
    assert caught.value.field == "column_id"
    assert item.id == created


async def test_change_column_values_updates_the_same_item() -> None:
    async with rig() as r:
        item_id = await r.client.create_item(
            BOARD, item_name="PO-7", column_values={VISMA_ID: "PO-7"}
        )
        await r.client.change_column_values(
            BOARD, item_id, {"status_receipt": {"label": "Received"}, "numbers_amount": "99"}
        )
        [item] = await r.client.find_items(BOARD, column_id=VISMA_ID, value="PO-7")
    assert item.id == item_id
    assert item.text("status_receipt") == "Received"
    assert item.text("numbers_amount") == "99"


async def test_changing_an_unknown_item_or_column_names_the_field_at_fault() -> None:
    async with rig() as r:
        with pytest.raises(MondayInvalidInput) as unknown_item:
            await r.client.change_column_values(BOARD, "77", {VISMA_ID: "x"})
        item_id = await r.client.create_item(BOARD, item_name="z", column_values={})
        with pytest.raises(MondayInvalidInput) as unknown_column:
            await r.client.change_column_values(BOARD, item_id, {"no_such_column": "x"})
    assert (unknown_item.value.field, unknown_item.value.field_value) == ("item_id", "77")
    assert unknown_column.value.code == "InvalidColumnIdException"
    assert unknown_column.value.column_id == "no_such_column"


async def test_change_many_sends_several_updates_in_one_request_with_aliases() -> None:
    async with rig() as r:
        ids = r.seed_items(30)
        updates = [(item_id, {"numbers_amount": str(n)}) for n, item_id in enumerate(ids)]
        await r.client.change_many(BOARD, updates)
        items = [i async for i in r.client.items(BOARD)]
    by_id = {i.id: i for i in items}
    assert [by_id[item_id].text("numbers_amount") for item_id in ids] == [str(n) for n in range(30)]
    batches = [b for b in r.transport.bodies() if "change_multiple_column_values" in b["query"]]
    # the first request learns what one update costs, then up to 25 go per request
    assert [sum(k.startswith("item") for k in b["variables"]) for b in batches] == [1, 25, 4]
    assert all(b["query"] in DOCUMENTS.values() for b in batches)


async def test_find_items_reads_every_page() -> None:
    async with rig() as r:
        ids = r.seed_items(230, values={"text_currency": "SEK"})
        found = await r.client.find_items(BOARD, column_id="text_currency", value="SEK")
    assert [i.id for i in found] == ids
    assert len(r.transport.requests) == 3


async def test_items_pages_through_a_board_in_id_order() -> None:
    async with rig() as r:
        ids = r.seed_items(205)
        listed = [i.id async for i in r.client.items(BOARD)]
    assert listed == ids
    assert len(r.transport.requests) == 3


async def test_items_updated_since_lists_only_what_changed() -> None:
    async with rig() as r:
        ids = r.seed_items(120)
        r.time.clock.advance(600)
        since = r.time.clock.now()
        r.time.clock.advance(1)
        changed = [ids[3], ids[110]]
        await r.client.change_many(BOARD, [(i, {"numbers_amount": "1"}) for i in changed])
        listed = [i async for i in r.client.items(BOARD, updated_since=since)]
        earlier = [i async for i in r.client.items(BOARD, updated_since=since - timedelta(hours=1))]
    assert [i.id for i in listed] == changed
    assert all(i.updated_at is not None and i.updated_at >= since for i in listed)
    assert len(earlier) == 120
    rule = r.transport.bodies()[-2]["variables"]["query"]["rules"][0]
    assert rule["column_id"] == "__last_updated__"


async def test_a_refused_update_in_a_batch_names_its_item_and_the_others_are_applied() -> None:
    async with rig() as r:
        ids = r.seed_items(4)
        await r.client.change_column_values(BOARD, ids[0], {"numbers_amount": "0"})
        updates = [(item_id, {"numbers_amount": "5"}) for item_id in ids]
        updates[2] = (ids[2], {"status_receipt": {"label": "No such label"}})
        with pytest.raises(MondayInvalidInput) as caught:
            await r.client.change_many(BOARD, updates)
        items = {i.id: i for i in [i async for i in r.client.items(BOARD)]}
    assert caught.value.item_id == ids[2]
    assert caught.value.column_id == "status_receipt"
    assert [items[i].text("numbers_amount") for i in ids] == ["5", "5", "", "5"]
