"""The paging switch: lists ordered by number, records inserted and deleted while paged.

A reader that pages by position sees what a real list ordered by document number does to
it: an insert on page 1 pushes a record it has read onto the next page (read twice), a
deletion behind it pulls a record it has not read back past the page edge (never read).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sandbox_kit import entity_key, frozen_config, visma_token

from sandbox import create_app

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

ROUTE = "/visma/v1/supplierInvoice"


async def _read_all_pages(
    client: httpx.AsyncClient, auth: dict[str, str], *, size: int
) -> tuple[list[str], list[int]]:
    """Every id read page by page until a short page, and the totalCount of each page."""
    ids: list[str] = []
    totals: list[int] = []
    page = 1
    while True:
        response = await client.get(
            ROUTE, headers=auth, params={"pageNumber": page, "pageSize": size}
        )
        assert response.status_code == 200, response.text
        items = response.json()
        ids += [entity_key("supplierInvoice", i) for i in items]
        totals += [items[0]["metadata"]["totalCount"]] if items else []
        if len(items) < size:
            return ids, totals
        page += 1


@asynccontextmanager
async def _client_with(
    switch: dict[str, object],
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    app = create_app(frozen_config(invoices_per_company=30))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sb") as c:
        response = await c.put("/visma/_sandbox/paging", json=switch)
        assert response.status_code == 200, response.text
        yield c, await visma_token(c)


async def test_lists_can_be_ordered_by_number_either_way() -> None:
    async with _client_with({"order": "number_desc"}) as (client, auth):
        descending, _ = await _read_all_pages(client, auth, size=100)
        await client.put("/visma/_sandbox/paging", json={"order": "number"})
        ascending, _ = await _read_all_pages(client, auth, size=100)
    assert ascending == sorted(ascending)
    assert descending == ascending[::-1]
    assert len(ascending) == 30


async def test_inserts_on_page_one_make_a_reader_see_records_twice() -> None:
    switch = {"order": "number_desc", "inserts_per_page": 1, "churn_budget": 2}
    async with _client_with(switch) as (client, auth):
        ids, totals = await _read_all_pages(client, auth, size=10)
        stats = (await client.get("/visma/_sandbox/paging")).json()
    assert len(stats["inserted"]) == 2
    assert totals == [30, 31, 32, 32]
    assert len(ids) - len(set(ids)) == 2, "each insert pushed one read record onto the next page"
    assert not set(stats["inserted"]) & set(ids), "the new records landed behind the reader"


async def test_deletes_behind_the_reader_make_it_miss_records() -> None:
    switch = {"order": "number", "deletes_per_page": 1, "churn_budget": 2}
    async with _client_with(switch) as (client, auth):
        ids, totals = await _read_all_pages(client, auth, size=10)
        stats = (await client.get("/visma/_sandbox/paging")).json()
        remaining, _ = await _read_all_pages(client, auth, size=100)
    assert totals == [30, 29, 28]
    assert len(stats["deleted"]) == 2
    assert set(stats["deleted"]) <= set(ids), "only records already served are deleted"
    missed = set(remaining) - set(ids)
    assert len(missed) == 2, "each deletion pulled an unread record back past a page edge"


async def test_the_switch_rejects_unknown_orders() -> None:
    app = create_app(frozen_config())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sb") as c:
        response = await c.put("/visma/_sandbox/paging", json={"order": "random"})
    assert response.status_code == 422
