"""Helpers for the monday sandbox tests: every document is validated before it is sent."""

from __future__ import annotations

from typing import Any

import httpx
from graphql import parse, validate

from sandbox.monday.config import DEMO_MONDAY_TOKEN
from sandbox.monday.schema import sandbox_schema

AUTH = {"Authorization": DEMO_MONDAY_TOKEN, "API-Version": "2025-07"}

BOARD = "1000000001"  # the seeded procurement board: the first id the sandbox hands out

CREATE = """
mutation ($board: ID!, $name: String!, $values: JSON, $labels: Boolean) {
  create_item(board_id: $board, item_name: $name, column_values: $values,
              create_labels_if_missing: $labels) { id name }
}"""

CHANGE = """
mutation ($board: ID!, $item: ID, $values: JSON!, $labels: Boolean) {
  change_multiple_column_values(board_id: $board, item_id: $item, column_values: $values,
                                create_labels_if_missing: $labels) {
    id column_values { id type text value }
  }
}"""

PAGE = """
query ($board: ID!, $limit: Int!) {
  complexity { before after query reset_in_x_seconds }
  boards(ids: [$board]) { items_page(limit: $limit) { cursor items { id name } } }
}"""

NEXT = """
query ($cursor: String!, $limit: Int!) {
  next_items_page(cursor: $cursor, limit: $limit) { cursor items { id name } }
}"""


def checked(document: str) -> str:
    errors = validate(sandbox_schema(), parse(document))
    assert errors == [], errors
    return document


async def post(
    client: httpx.AsyncClient,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = {"query": checked(document), "variables": variables or {}}
    return await client.post("/monday/v2", json=body, headers=AUTH if headers is None else headers)


async def gql(
    client: httpx.AsyncClient, document: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await post(client, document, variables)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


async def create(client: httpx.AsyncClient, name: str, values: dict[str, Any]) -> str:
    data = await gql(client, CREATE, {"board": BOARD, "name": name, "values": values})
    return str(data["create_item"]["id"])
