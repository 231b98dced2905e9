"""The monday sandbox's GraphQL endpoint: boards, items, column values and cursor paging."""

from __future__ import annotations

import json

import httpx
import pytest
from monday_kit import AUTH, BOARD, CHANGE, CREATE, NEXT, create, gql, post

pytestmark = pytest.mark.anyio

COLUMNS = """
query ($ids: [ID!]) {
  boards(ids: $ids) { id name columns { id title type settings_str } groups { id title } }
}"""

ITEM = """
query ($ids: [ID!]) {
  items(ids: $ids) {
    id name group { id } board { id }
    column_values { id type text value ... on StatusValue { column { title } } }
  }
}"""

BY_VISMA_ID = """
query ($board: ID!, $values: [String]!) {
  items_page_by_column_values(board_id: $board, limit: 5,
                              columns: [{column_id: "text_visma_id", column_values: $values}]) {
    cursor items { id name }
  }
}"""

ALL_TYPES = {
    "text_visma_id": "Invoice:100001",
    "text_invoice": "100001",
    "numbers_amount": "1250.50",
    "date_due": {"date": "2026-03-31"},
    "status_receipt": {"label": "Pending"},
    "link_document": {"url": "https://erp.example/100001", "text": "PDF"},
    "dropdown_dimension": {"labels": ["Ops"]},
    "long_text_notes": {"text": "two\nlines"},
    "email_contact": {"email": "ap@supplier.example", "text": "AP"},
}


def _cells(item: dict[str, object]) -> dict[str, tuple[str | None, object]]:
    values = item["column_values"]
    assert isinstance(values, list)
    return {
        v["id"]: (v["text"], None if v["value"] is None else json.loads(v["value"])) for v in values
    }


async def test_a_token_is_sent_raw_and_bearer_is_refused(client: httpx.AsyncClient) -> None:
    bearer = {"Authorization": f"Bearer {AUTH['Authorization']}"}
    refused = await post(client, "query { me { id } }", headers=bearer)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    data = await gql(client, "query { me { id account { id name slug } } }")
    assert data["me"]["account"]["name"] == "Nordic Demo"


async def test_the_procurement_board_has_twelve_columns_with_odd_titles(
    client: httpx.AsyncClient,
) -> None:
    board = (await gql(client, COLUMNS, {"ids": [BOARD]}))["boards"][0]
    titles = [c["title"] for c in board["columns"]]
    assert len(titles) == 12
    assert "Invoice " in titles
    assert " supplier name" in titles
    receipt = next(c for c in board["columns"] if c["id"] == "status_receipt")
    assert receipt["type"] == "status"
    assert json.loads(receipt["settings_str"])["labels"]["1"] == "Received"
    assert board["groups"] == [{"id": "topics", "title": "Group Title"}]


async def test_column_values_are_stored_and_read_in_mondays_shapes(
    client: httpx.AsyncClient,
) -> None:
    item_id = await create(client, "INV 100001", ALL_TYPES)
    item = (await gql(client, ITEM, {"ids": [item_id]}))["items"][0]
    assert item["board"]["id"] == BOARD
    cells = _cells(item)
    assert cells["text_invoice"] == ("100001", "100001")
    assert cells["numbers_amount"] == ("1250.50", "1250.50")
    assert cells["date_due"] == ("2026-03-31", {"date": "2026-03-31", "time": None})
    assert cells["status_receipt"] == ("Pending", {"index": 0})
    assert cells["link_document"] == (
        "PDF - https://erp.example/100001",
        {"url": "https://erp.example/100001", "text": "PDF"},
    )
    assert cells["dropdown_dimension"] == ("Ops", {"ids": [2]})
    assert cells["long_text_notes"] == ("two\nlines", {"text": "two\nlines"})
    assert cells["email_contact"][0] == "ap@supplier.example"
    assert cells["text_currency"] == ("", None)


async def test_column_values_may_come_as_a_json_string(client: httpx.AsyncClient) -> None:
    values = json.dumps({"text_visma_id": "Invoice:7", "status_receipt": {"label": "Received"}})
    item_id = await create(client, "INV 7", values)  # type: ignore[arg-type]
    cells = _cells((await gql(client, ITEM, {"ids": [item_id]}))["items"][0])
    assert cells["status_receipt"] == ("Received", {"index": 1})


async def test_an_unknown_status_label_is_an_application_error_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    item_id = await create(client, "INV 2", {"text_invoice": "2"})
    values = {"text_invoice": "changed", "status_receipt": {"label": "Lost"}}
    response = await post(client, CHANGE, {"board": BOARD, "item": item_id, "values": values})
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "ColumnValueException"
    assert error["path"] == ["change_multiple_column_values"]
    cells = _cells((await gql(client, ITEM, {"ids": [item_id]}))["items"][0])
    assert cells["text_invoice"][0] == "2"
    created = await gql(
        client, CHANGE, {"board": BOARD, "item": item_id, "values": values, "labels": True}
    )
    changed = _cells(created["change_multiple_column_values"])
    assert changed["status_receipt"] == ("Lost", {"index": 3})


async def test_an_unknown_board_or_column_names_it(client: httpx.AsyncClient) -> None:
    response = await post(client, CREATE, {"board": "42", "name": "x", "values": {}})
    assert response.json()["errors"][0]["extensions"]["code"] == "InvalidBoardIdException"
    response = await post(client, CREATE, {"board": BOARD, "name": "x", "values": {"nope": "1"}})
    extensions = response.json()["errors"][0]["extensions"]
    assert extensions["code"] == "InvalidColumnIdException"
    assert extensions["error_data"] == {"column_id": "nope"}


async def test_a_simple_value_is_a_plain_string(client: httpx.AsyncClient) -> None:
    item_id = await create(client, "INV 3", {})
    document = """
    mutation ($board: ID!, $item: ID, $value: String) {
      change_simple_column_value(board_id: $board, item_id: $item, column_id: "status_receipt",
                                 value: $value) { id }
    }"""
    await gql(client, document, {"board": BOARD, "item": item_id, "value": "Received"})
    cells = _cells((await gql(client, ITEM, {"ids": [item_id]}))["items"][0])
    assert cells["status_receipt"] == ("Received", {"index": 1})


async def test_an_item_is_found_by_the_value_of_a_column(client: httpx.AsyncClient) -> None:
    wanted = await create(client, "INV 4", {"text_visma_id": "Invoice:4"})
    await create(client, "INV 5", {"text_visma_id": "Invoice:5"})
    data = await gql(client, BY_VISMA_ID, {"board": BOARD, "values": ["Invoice:4"]})
    page = data["items_page_by_column_values"]
    assert page == {"cursor": None, "items": [{"id": wanted, "name": "INV 4"}]}


async def test_cursor_paging_sees_every_item_once_while_items_change(
    client: httpx.AsyncClient,
) -> None:
    before = [await create(client, f"INV {n}", {"text_invoice": str(n)}) for n in range(7)]
    first = (await gql(client, PAGE_ONLY, {"board": BOARD, "limit": 3}))["boards"][0]
    seen = [i["id"] for i in first["items_page"]["items"]]
    cursor = first["items_page"]["cursor"]
    while cursor is not None:
        # Someone edits a seen item and adds a new one between pages.
        await gql(
            client, CHANGE, {"board": BOARD, "item": seen[0], "values": {"text_invoice": "x"}}
        )
        await create(client, "late", {})
        page = (await gql(client, NEXT, {"cursor": cursor, "limit": 3}))["next_items_page"]
        seen += [i["id"] for i in page["items"]]
        cursor = page["cursor"]
        assert len(seen) < 30
    assert len(seen) == len(set(seen))
    assert seen[:7] == before


async def test_an_expired_cursor_is_refused(client: httpx.AsyncClient) -> None:
    for n in range(3):
        await create(client, f"INV {n}", {})
    first = (await gql(client, PAGE_ONLY, {"board": BOARD, "limit": 1}))["boards"][0]
    await client.post("/monday/_sandbox/clock", json={"advance_seconds": 3601})
    response = await post(client, NEXT, {"cursor": first["items_page"]["cursor"], "limit": 1})
    assert response.json()["errors"][0]["extensions"]["code"] == "CursorExpiredError"


async def test_an_invalid_document_is_answered_with_errors(client: httpx.AsyncClient) -> None:
    body = {"query": "query { boards { nonsense } }", "variables": {}}
    response = await client.post("/monday/v2", json=body, headers=AUTH)
    assert response.status_code == 200
    assert "nonsense" in response.json()["errors"][0]["message"]


PAGE_ONLY = """
query ($board: ID!, $limit: Int!) {
  boards(ids: [$board]) { items_page(limit: $limit) { cursor items { id name } } }
}"""
