from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sandbox_kit import frozen_config, visma_token

from sandbox import create_app

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

LIST = "/visma/v1/supplierInvoice"


async def _create(client: httpx.AsyncClient, **fields: object) -> dict[str, object]:
    body = {"company": "tenant-se-1", "amount": "1000.00", **fields}
    response = await client.post("/visma/_sandbox/invoices", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


async def _refs(client: httpx.AsyncClient, auth: dict[str, str], **params: object) -> list[str]:
    response = await client.get(LIST, headers=auth, params=params)
    assert response.status_code == 200, response.text
    return [item["referenceNumber"] for item in response.json()]


async def test_dto_has_the_read_shape(client: httpx.AsyncClient) -> None:
    created = await _create(client, amount="1234.5", po_number="PO-2026-00123")
    auth = await visma_token(client)
    item = (await client.get(LIST, headers=auth)).json()[-1]
    assert item["referenceNumber"] == created["referenceNumber"]
    assert item["amount"] == 1234.5
    assert item["documentType"] == "Invoice"
    assert item["lastModifiedDateTime"] == "2026-03-02T10:00:00.000"
    assert set(item["supplier"]) == {"internalId", "number", "name"}
    assert item["invoiceLines"][0]["poNumber"] == "PO-2026-00123"
    assert item["metadata"] == {"totalCount": 8, "maxPageSize": 100}


@pytest.mark.parametrize(
    ("condition", "included"),
    [(">", False), (">=", True), ("<=", True), ("<", False)],
)
async def test_condition_at_the_exact_boundary(
    client: httpx.AsyncClient, condition: str, included: bool
) -> None:
    # Every seeded invoice was modified before START; the new one exactly at START.
    created = await _create(client)
    auth = await visma_token(client)
    refs = await _refs(
        client,
        auth,
        lastModifiedDateTime="2026-03-02T10:00:00.000",
        lastModifiedDateTimeCondition=condition,
    )
    assert (created["referenceNumber"] in refs) is included
    assert len(refs) == {">": 0, ">=": 1, "<=": 8, "<": 7}[condition]


@pytest.mark.parametrize(
    "value", ["2026-03-02", "2026-03-02 09:59:59", "2026-03-02T09:59:59.9", "2026-03-02T09:59:59"]
)
async def test_accepted_date_formats(client: httpx.AsyncClient, value: str) -> None:
    created = await _create(client)
    auth = await visma_token(client)
    refs = await _refs(client, auth, lastModifiedDateTime=value, lastModifiedDateTimeCondition=">")
    assert created["referenceNumber"] in refs


@pytest.mark.parametrize(
    "params",
    [
        {"lastModifiedDateTime": "2026-03-02"},
        {"lastModifiedDateTimeCondition": ">"},
        {"lastModifiedDateTime": "2026-03-02", "lastModifiedDateTimeCondition": "=="},
        {"lastModifiedDateTime": "02/03/2026", "lastModifiedDateTimeCondition": ">"},
        {"lastModifiedDateTime": "2026-02-30", "lastModifiedDateTimeCondition": ">"},
        {"pageNumber": "0"},
        {"pageSize": "abc"},
    ],
)
async def test_bad_parameters_are_400(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    auth = await visma_token(client)
    response = await client.get(LIST, headers=auth, params=params)
    assert response.status_code == 400
    assert response.json()["ExceptionType"] == "IPPException"
    assert response.headers["X-RateLimit-Policy"] == "4-fixed-window"


async def test_paging_and_total_count(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    everything = await _refs(client, auth)
    pages = [await _refs(client, auth, pageNumber=n, pageSize=3) for n in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert [ref for page in pages for ref in page] == everything
    first = (await client.get(LIST, headers=auth, params={"pageSize": 3})).json()
    assert {item["metadata"]["totalCount"] for item in first} == {7}


async def test_page_size_is_clamped_silently(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    async with make_client(create_app(frozen_config(max_page_size=5))) as client:
        auth = await visma_token(client)
        response = await client.get(LIST, headers=auth, params={"pageSize": 1000})
    assert response.status_code == 200
    assert len(response.json()) == 5
    assert response.json()[0]["metadata"] == {"totalCount": 7, "maxPageSize": 5}


async def test_a_change_does_not_shift_pages(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    before = await _refs(client, auth, pageNumber=1, pageSize=3)
    await client.post("/visma/_sandbox/clock", json={"advance_seconds": 5})
    await client.patch(f"/visma/_sandbox/invoices/tenant-se-1/{before[0]}", json={"amount": 99})
    assert await _refs(client, auth, pageNumber=1, pageSize=3) == before
    changed = await _refs(
        client,
        auth,
        lastModifiedDateTime="2026-03-02 10:00:00",
        lastModifiedDateTimeCondition=">",
    )
    assert changed == [before[0]]


async def test_single_get_carries_etag_that_changes_on_update(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    response = await client.get(f"{LIST}/100001", headers=auth)
    assert response.status_code == 200
    etag = response.headers["ETag"]
    assert etag == f'"{response.json()["timeStamp"]}"'
    patch = await client.patch(
        "/visma/_sandbox/invoices/tenant-se-1/100001",
        json={"approval_status": "Approved", "status": "Open"},
    )
    assert patch.json()["approvalStatus"] == "Approved"
    after = await client.get(f"{LIST}/100001", headers=auth)
    assert after.headers["ETag"] != etag
    assert after.json()["status"] == "Open"


async def test_unknown_invoice_is_404(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    response = await client.get(f"{LIST}/999999", headers=auth)
    assert response.status_code == 404
    assert response.json()["ExceptionType"] == "IPPException"


async def test_reseed_replaces_the_dataset(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/visma/_sandbox/seed", json={"invoices_per_company": 3, "seed": 9}
    )
    assert response.json()["invoices"]["tenant-dk-1"] == 3
    auth = await visma_token(client, "tenant-dk-1")
    assert await _refs(client, auth) == ["100001", "100002", "100003"]
