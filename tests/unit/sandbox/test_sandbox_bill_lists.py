"""BILL sandbox vendor and bill lists: filters, ``max``, page tokens that stay correct while
records change, and reads by id."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bill_kit import (
    ADMIN,
    API,
    ORG,
    add_bill,
    add_vendor,
    advance,
    bill_body,
    error_code,
    login,
)

pytestmark = pytest.mark.anyio


async def read_all(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    collection: str,
    *,
    size: int,
    between_pages: Any = None,
    **params: str,
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    page: str | None = None
    while True:
        query = {"max": str(size), **params} if page is None else {"max": str(size), "page": page}
        response = await client.get(f"{API}/{collection}", headers=headers, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += body["results"]
        page = body["nextPage"]
        if page is None:
            return seen
        if between_pages is not None:
            await between_pages()


async def test_updated_time_filter_in_each_documented_date_form(
    client: httpx.AsyncClient,
) -> None:
    old = await add_vendor(client, "Old Vendor A/S")
    await advance(client, 86_400 + 61)  # the next day, a minute and a second later
    new = await add_vendor(client, "New Vendor ApS")
    assert new["updatedTime"] == "2026-03-03T10:01:01.000+00:00"
    headers = await login(client)
    for bound in (
        "2026-03-03T10:01:01.000Z",
        "2026-03-03T10:01:01.000+00:00",
        "2026-03-03T11:01:01.000+0100",
        "2026-03-03T10:01:01.000",
        "2026-03-03T10:01:01",
        "2026-03-03T10:01",
        "2026-03-03",
    ):
        response = await client.get(
            f"{API}/vendors", headers=headers, params={"filters": f'updatedTime:gte:"{bound}"'}
        )
        assert [v["id"] for v in response.json()["results"]] == [new["id"]], bound
    before = await client.get(
        f"{API}/vendors", headers=headers, params={"filters": 'updatedTime:lt:"2026-03-03"'}
    )
    assert [v["id"] for v in before.json()["results"]] == [old["id"]]


async def test_operators_and_combined_filters(client: httpx.AsyncClient) -> None:
    north = await add_vendor(client, "Nordisk Papir A/S", taxId="DK12345678")
    south = await add_vendor(client, "Sydhavn Kaffe ApS", taxId="DK87654321")
    small = await add_bill(client, north["id"], "INV-1", 40.0, 60.0)
    large = await add_bill(client, south["id"], "INV-2", 900.0)
    await client.post(f"{ADMIN}/organizations/{ORG}/bills/{large['id']}/archive")
    headers = await login(client)

    async def ids(collection: str, filters: str) -> list[str]:
        response = await client.get(
            f"{API}/{collection}", headers=headers, params={"filters": filters}
        )
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["results"]]

    assert await ids("vendors", 'name:sw:"Nord"') == [north["id"]]
    assert await ids("vendors", 'taxId:eq:"DK87654321"') == [south["id"]]
    assert await ids("vendors", f'id:in:"{north["id"]}","{south["id"]}"') == [
        north["id"],
        south["id"],
    ]
    assert await ids("vendors", f'id:nin:["{north["id"]}"]') == [south["id"]]
    assert await ids("bills", "archived:eq:false") == [small["id"]]
    assert await ids("bills", "amount:gt:100") == [large["id"]]
    assert await ids("bills", f'vendorId:eq:"{north["id"]}",amount:lte:100') == [small["id"]]
    assert await ids("bills", 'invoice.invoiceNumber:ne:"INV-1"') == [large["id"]]
    assert small["amount"] == 100.0


@pytest.mark.parametrize(
    "params",
    [
        {"filters": 'updatedTime:gte:"yesterday"'},
        {"filters": 'updatedTime:around:"2026-03-01"'},
        {"filters": 'password:eq:"x"'},
        {"filters": "name:eq:unquoted"},
        {"max": "101"},
        {"max": "0"},
        {"sort": "name:sideways"},
        {"page": "not-a-token"},
    ],
)
async def test_a_malformed_list_query_is_invalid_input(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    headers = await login(client)
    response = await client.get(f"{API}/vendors", headers=headers, params=params)
    assert (response.status_code, error_code(response)) == (400, "BDC_1001")
    assert response.json()[0]["category"] == "VALIDATION"


async def test_max_defaults_to_20_and_pages_go_both_ways(client: httpx.AsyncClient) -> None:
    vendors = [await add_vendor(client, f"Vendor {n:02d}") for n in range(45)]
    headers = await login(client)
    first = (await client.get(f"{API}/vendors", headers=headers)).json()
    assert len(first["results"]) == 20
    assert first["prevPage"] is None
    assert len(await read_all(client, headers, "vendors", size=100)) == 45
    second = (
        await client.get(f"{API}/vendors", headers=headers, params={"page": first["nextPage"]})
    ).json()
    assert [v["id"] for v in second["results"]] == [v["id"] for v in vendors[20:40]]
    back = (
        await client.get(f"{API}/vendors", headers=headers, params={"page": second["prevPage"]})
    ).json()
    assert back["results"] == first["results"]
    assert back["prevPage"] is None
    assert back["nextPage"] is not None


async def test_page_tokens_stay_correct_while_records_change(client: httpx.AsyncClient) -> None:
    """Records created, changed and archived between pages: every record that was there at
    the start is read exactly once, in creation order and by ``updatedTime``."""
    vendors = [await add_vendor(client, f"Vendor {n:02d}") for n in range(30)]
    headers = await login(client)
    changed = iter(vendors)

    async def churn() -> None:
        await advance(client, 1)
        await add_vendor(client, "Added while paging")
        victim = next(changed)  # one already read, one not yet
        await client.patch(
            f"{ADMIN}/organizations/{ORG}/vendors/{victim['id']}", json={"email": "x@y.dk"}
        )

    for params in ({}, {"sort": "updatedTime:asc"}):
        seen = await read_all(client, headers, "vendors", size=7, between_pages=churn, **params)
        ids = [v["id"] for v in seen]
        for vendor in vendors:
            if params:  # a change moves a record to the end by updatedTime: seen again there
                assert ids.count(vendor["id"]) >= 1, "no original vendor skipped"
            else:
                assert ids.count(vendor["id"]) == 1, "creation order: each vendor once"
        assert "Added while paging" in {v["name"] for v in seen}


async def test_a_record_by_id_and_an_unknown_id(client: httpx.AsyncClient) -> None:
    vendor = await add_vendor(client, "Fjord Fragt A/S", email="ap@fjord.example")
    bill = await add_bill(client, vendor["id"], "F-77", 125.5)
    headers = await login(client)
    read = (await client.get(f"{API}/bills/{bill['id']}", headers=headers)).json()
    assert read["vendorId"] == vendor["id"]
    assert read["vendorName"] == "Fjord Fragt A/S"
    assert read["invoice"] == {"invoiceNumber": "F-77", "invoiceDate": "2026-03-01"}
    assert read["billLineItems"][0]["classifications"]["chartOfAccountId"] == "0ca01GL4000"
    assert bill["id"].startswith("00n")
    assert len(bill["id"]) == 20
    assert vendor["id"].startswith("009")
    assert len(vendor["id"]) == 20
    missing = await client.get(f"{API}/vendors/00901NOPE00000000000", headers=headers)
    assert (missing.status_code, error_code(missing)) == (404, "BDC_1004")
    unknown = await client.get(f"{API}/payables", headers=headers)
    assert error_code(unknown) == "BDC_1004"


async def test_admin_changes_as_a_bill_user(client: httpx.AsyncClient) -> None:
    vendor = await add_vendor(client, "Havn Og Co")
    bill = await add_bill(client, vendor["id"], "H-1", 10.0)
    await advance(client, 60)
    lines = [{"amount": 30.0, "classifications": {"chartOfAccountId": "0ca01GL5000"}}]
    changed = await client.patch(
        f"{ADMIN}/organizations/{ORG}/bills/{bill['id']}",
        json={"billLineItems": lines, "id": "forged", "amount": 1},
    )
    body = changed.json()
    assert (body["id"], body["amount"], body["dueAmount"]) == (bill["id"], 30.0, 30.0)
    assert body["updatedTime"] > bill["updatedTime"] == body["createdTime"]
    orphan = await client.post(
        f"{ADMIN}/organizations/{ORG}/bills",
        json={"vendorId": "00901NOPE00000000000", "invoice": {}, "billLineItems": []},
    )
    assert error_code(orphan) == "BDC_1004"
    for due in ("31/03/2026", "2026-02-30"):
        wrong_date = await client.post(
            f"{ADMIN}/organizations/{ORG}/bills",
            json={**bill_body(vendor["id"], "H-2"), "dueDate": due},
        )
        assert (wrong_date.status_code, error_code(wrong_date)) == (400, "BDC_1001")
    restored = await client.post(f"{ADMIN}/organizations/{ORG}/vendors/{vendor['id']}/archive")
    assert restored.json()["archived"] is True
