"""Airbase sandbox API: DRF's auth, errors and page-numbered lists, the collections' writes,
an approver's payment as a ledger entry and marking it synced."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from airbase_kit import (
    ACCOUNTS,
    ADMIN,
    BILLS,
    ENTRIES,
    NO,
    ORDERS,
    RECORDED_ENTRY_FIELDS,
    SE,
    VENDORS,
    bill_body,
    create,
    paid_entry,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer airbase-demo-token-tenant-se-1", "Authentication credentials were not provided."),
        ("Token", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Token string should not contain spaces."),
        ("Token not-a-token", "Invalid token."),
    ],
)
async def test_drf_token_authentication(
    client: httpx.AsyncClient, authorization: str | None, detail: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get(VENDORS, headers=headers)
    assert response.status_code == 401
    assert response.content == f'{{"detail":"{detail}"}}'.encode()
    assert response.headers["WWW-Authenticate"] == "Token"


async def test_recorded_headers_and_a_vendor_created_read_and_updated(
    client: httpx.AsyncClient,
) -> None:
    vendor = await create(client, VENDORS, {"name": "Nordic Paper AB", "erp_reference_id": "S1"})
    assert set(vendor) == {
        "airbase_id", "erp_reference_id", "erp_parent_reference_id", "name", "is_active",
        "email", "subsidiary_reference_ids",
    }  # fmt: skip
    item = f"{VENDORS}{vendor['airbase_id']}/"
    changed = await client.patch(item, headers=SE, json={"email": "ap@paper.example"})
    assert changed.status_code == 200
    assert changed.json() == {**vendor, "email": "ap@paper.example"}
    read = await client.get(item, headers=SE)
    assert read.json() == changed.json()
    assert read.headers["Allow"] == "GET, PATCH, HEAD, OPTIONS"
    assert read.headers["Vary"] == "Cookie, origin"
    assert read.headers["X-Ratelimit-Limit"] == "500"
    assert read.headers["X-Ratelimit-Remaining"] == "497"
    listed = await client.get(VENDORS, headers=SE)
    assert listed.headers["Allow"] == "GET, POST, HEAD, OPTIONS"
    admin = (await client.get(f"{ADMIN}/vendors", params={"tenant": "tenant-se-1"})).json()
    assert admin["counters"]["creates"] == {"S1": 1}
    assert admin["counters"]["updates"] == {"S1": 1}


async def test_each_tenant_sees_only_its_own_records(client: httpx.AsyncClient) -> None:
    await create(client, VENDORS, {"name": "Only in Sweden", "erp_reference_id": "S1"})
    response = await client.get(VENDORS, headers=NO)
    assert response.json()["data"] == []


async def test_drf_error_shapes(client: httpx.AsyncClient) -> None:
    missing = await client.post(VENDORS, headers=SE, json={"erp_reference_id": "S1"})
    assert (missing.status_code, missing.content) == (400, b'{"name":["This field is required."]}')
    orphan = await client.post(BILLS, headers=SE, json=bill_body("S404", "INV1", "10.00"))
    assert orphan.status_code == 400
    assert orphan.content == b'{"vendor":["Object with erp_reference_id=S404 does not exist."]}'
    unknown = await client.get(f"{VENDORS}00000000-0000-4000-8000-000000000000/", headers=SE)
    assert (unknown.status_code, unknown.content) == (404, b'{"detail":"Not found."}')
    posted = await client.post(ENTRIES, headers=SE, json={})
    assert posted.status_code == 405
    assert posted.content == b'{"detail":"Method \\"POST\\" not allowed."}'
    assert posted.headers["Allow"] == "GET, HEAD, OPTIONS"
    not_a_number = await client.post(ACCOUNTS, headers=SE, json={"name": "Sales", "number": "3010"})
    assert not_a_number.status_code == 201
    bad_amount = await client.post(
        ORDERS, headers=SE, json={"vendor": {"erp_reference_id": "S1"}, "total_amount": "x"}
    )
    assert bad_amount.status_code == 400
    assert bad_amount.json() == {
        "currency": ["This field is required."],
        "total_amount": ["A valid number is required."],
    }
    nowhere = await client.get("/airbase/v1/accounting/nothing/", headers=SE)
    assert nowhere.status_code == 404
    assert nowhere.headers["content-type"].startswith("text/html")
    slashless = await client.get(VENDORS.rstrip("/"), headers=SE, params={"page": "2"})
    assert slashless.status_code == 301
    assert slashless.headers["location"] == f"http://sandbox{VENDORS}?page=2"


async def test_lines_keep_their_field_set(client: httpx.AsyncClient) -> None:
    await create(client, VENDORS, {"name": "Nordic Paper AB", "erp_reference_id": "S1"})
    body = bill_body("S1", "INV-1", "10")
    body["expense_list"][0]["colour"] = "ignored"
    bill = await create(client, BILLS, body)
    assert bill["expense_list"] == [
        {
            "line_number": 1,
            "account": {"erp_reference_id": "4010"},
            "amount": "10.00",
            "description": "line 1",
            "tags": [{"type": "department", "erp_reference_id": "CC10", "name": "Sales"}],
        }
    ]
    order = await create(
        client,
        ORDERS,
        {
            "erp_reference_id": "PO-1",
            "vendor": {"erp_reference_id": "S1"},
            "currency": {"iso_code": "SEK"},
            "total_amount": "30",
            "line_items": [{"amount": "30", "quantity": 3, "description": "paper"}],
        },
    )
    assert order["status"] == "open"
    assert order["line_items"] == [
        {
            "line_number": 1,
            "description": "paper",
            "quantity": "3.00",
            "received_quantity": None,
            "amount": "30.00",
            "account": None,
        }
    ]
    bad = await client.post(
        BILLS, headers=SE, json={**body, "expense_list": [{"amount": "1"}, {"amount": "x"}]}
    )
    assert bad.json() == {"expense_list": [{}, {"amount": ["A valid number is required."]}]}
    received = await client.patch(
        f"{ORDERS}{order['airbase_id']}/", headers=SE, json={"status": "received"}
    )
    assert received.json()["status"] == "received"


async def test_pages_by_number_an_empty_page_past_the_end_and_filters(
    client: httpx.AsyncClient,
) -> None:
    for n in range(5):
        await create(client, VENDORS, {"name": f"Vendor {n}", "erp_reference_id": f"S{n}"})
    names = []
    for page in (1, 2, 3, 4):
        response = await client.get(VENDORS, headers=SE, params={"page": page, "page_size": 2})
        body = response.json()
        assert body["pagination"] == {"next": None, "previous": None, "page": page, "page_size": 2}
        names.append([v["name"] for v in body["data"]])
    assert names == [["Vendor 0", "Vendor 1"], ["Vendor 2", "Vendor 3"], ["Vendor 4"], []]
    one = await client.get(VENDORS, headers=SE, params={"erp_reference_id": "S3"})
    assert [v["name"] for v in one.json()["data"]] == ["Vendor 3"]
    typo = await client.get(ENTRIES, headers=SE, params={"status": "sync-ready"})
    assert typo.status_code == 400
    assert typo.json() == {
        "status": ["Select a valid choice. sync-ready is not one of the available choices."]
    }
    invalid = await client.get(VENDORS, headers=SE, params={"page": "0"})
    assert (invalid.status_code, invalid.json()) == (404, {"detail": "Invalid page."})


async def test_a_paid_bill_makes_a_sync_ready_ledger_entry_with_the_recorded_fields(
    client: httpx.AsyncClient,
) -> None:
    await create(client, VENDORS, {"name": "Nordic Paper AB", "erp_reference_id": "S1"})
    await create(client, ACCOUNTS, {"name": "Office supplies", "erp_reference_id": "4010"})
    entry = await paid_entry(client, "S1", "INV-7", "100.00", "23.45")
    assert set(entry) == RECORDED_ENTRY_FIELDS
    assert entry["type"] == "bill_payment"
    assert entry["status"] == "sync_ready"
    assert entry["erp_reference_id"] is None
    assert entry["total_amount"] == "123.45"
    assert entry["vendor"]["erp_reference_id"] == "S1"
    [applied] = entry["applied_to"]
    assert applied["transaction_type"] == "bill"
    bill = (await client.get(f"{BILLS}{applied['airbase_id']}/", headers=SE)).json()
    assert bill["status"] == "paid"
    assert bill["erp_reference_id"] == "INV-7"
    assert [(line["amount"], line["account"], line["tags"]) for line in entry["expense_list"]] == [
        (
            amount,
            {"erp_reference_id": "4010", "name": "Office supplies"},
            [{"type": "department", "erp_reference_id": "CC10", "name": None}],
        )
        for amount in ("100.00", "23.45")
    ]
    assert entry["amounts"]["amount"] == {"amount": "123.45", "currency": "SEK"}
    listed = await client.get(ENTRIES, headers=SE)
    assert [e["airbase_id"] for e in listed.json()["data"]] == [entry["airbase_id"]]


async def test_a_payment_with_its_own_allocation(client: httpx.AsyncClient) -> None:
    await create(client, VENDORS, {"name": "Nordic Paper AB", "erp_reference_id": "S1"})
    bill = await create(client, BILLS, bill_body("S1", "INV-8", "100.00"))
    await client.post(f"{ADMIN}/bills/{bill['airbase_id']}/approve")
    lines = [
        {"amount": "60.00", "account": "4010", "department": "CC10"},
        {"amount": "40.00", "account": "5410", "department": "CC20"},
    ]
    paid = await client.post(
        f"{ADMIN}/bills/{bill['airbase_id']}/pay",
        json={"payment_date": "2026-03-05", "lines": lines},
    )
    entry = paid.json()
    assert entry["payment_entry_date"] == "2026-03-05"
    assert [
        (line["amount"], line["account"]["erp_reference_id"], line["tags"][0]["erp_reference_id"])
        for line in entry["expense_list"]
    ] == [("60.00", "4010", "CC10"), ("40.00", "5410", "CC20")]
    again = await client.post(f"{ADMIN}/bills/{bill['airbase_id']}/pay")
    assert again.status_code == 409


async def test_a_rejected_bill_cannot_be_paid_and_head_and_options_answer(
    client: httpx.AsyncClient,
) -> None:
    await create(client, VENDORS, {"name": "Nordic Paper AB", "erp_reference_id": "S1"})
    bill = await create(client, BILLS, bill_body("S1", "INV-9", "50.00"))
    rejected = await client.post(f"{ADMIN}/bills/{bill['airbase_id']}/reject")
    assert rejected.json()["status"] == "rejected"
    assert (await client.post(f"{ADMIN}/bills/{bill['airbase_id']}/approve")).status_code == 409
    assert (await client.post(f"{ADMIN}/bills/{bill['airbase_id']}/pay")).status_code == 409
    rejected_only = await client.get(BILLS, headers=SE, params={"status": "rejected"})
    assert [b["erp_reference_id"] for b in rejected_only.json()["data"]] == ["INV-9"]
    head = await client.head(ENTRIES, headers=SE)
    assert (head.status_code, head.content, head.headers["Allow"]) == (
        200,
        b"",
        "GET, HEAD, OPTIONS",
    )
    options = await client.options(ENTRIES, headers=SE)
    assert options.json()["renders"] == ["application/json"]


async def test_marking_synced_is_idempotent_and_refuses_another_reference(
    client: httpx.AsyncClient,
) -> None:
    await create(client, VENDORS, {"name": "Nordic Paper AB", "erp_reference_id": "S1"})
    entry = await paid_entry(client, "S1", "INV-9", "50.00")
    item = f"{ENTRIES}{entry['airbase_id']}/"
    mark = {"status": "synced", "erp_reference_id": "PAY-1001"}
    first = await client.patch(item, headers=SE, json=mark)
    assert first.status_code == 200
    assert (first.json()["status"], first.json()["erp_reference_id"]) == ("synced", "PAY-1001")
    second = await client.patch(item, headers=SE, json=mark)
    assert (second.status_code, second.json()) == (200, first.json())
    other = await client.patch(
        item, headers=SE, json={"status": "synced", "erp_reference_id": "PAY-2002"}
    )
    assert other.status_code == 400
    assert other.content == b'{"erp_reference_id":["Entry is already synced as PAY-1001."]}'
    default = await client.get(ENTRIES, headers=SE)
    assert default.json()["data"] == []
    synced = await client.get(ENTRIES, headers=SE, params={"status": "synced"})
    assert [e["erp_reference_id"] for e in synced.json()["data"]] == ["PAY-1001"]
    admin = (await client.get(f"{ADMIN}/ledger_entries", params={"tenant": "tenant-se-1"})).json()
    assert admin["counters"]["updates"] == {"PAY-1001": 1}
    assert admin["counters"]["unchanged"] == {"PAY-1001": 1}


async def test_entries_of_other_kinds_share_the_list(client: httpx.AsyncClient) -> None:
    await create(client, VENDORS, {"name": "Nordic Paper AB", "erp_reference_id": "S1"})
    spend = await client.post(
        f"{ADMIN}/ledger_entries",
        json={
            "tenant": "tenant-se-1",
            "type": "card_transaction",
            "lines": [{"amount": "12.50", "account": "6071", "department": "CC10"}],
            "employee_name": "Anna Berg",
            "employee_email": "anna@nordic-demo.example",
        },
    )
    assert spend.status_code == 201, spend.text
    payment = await paid_entry(client, "S1", "INV-1", "10.00")
    listed = (await client.get(ENTRIES, headers=SE)).json()["data"]
    assert [(e["type"], e["applied_to"]) for e in listed] == [
        ("card_transaction", None),
        ("bill_payment", payment["applied_to"]),
    ]
    assert set(listed[0]) == RECORDED_ENTRY_FIELDS
    assert listed[0]["vendor"] is None
    assert listed[0]["employee"] == {"name": "Anna Berg", "email": "anna@nordic-demo.example"}
    assert listed[0]["total_amount"] == "12.50"


async def test_marking_while_paging_shifts_the_next_page(client: httpx.AsyncClient) -> None:
    """Like the live API: a synced entry leaves the sync_ready list at once, so a reader that
    marks each page before reading the next misses entries; reading every page first does not."""
    await create(client, VENDORS, {"name": "Nordic Paper AB", "erp_reference_id": "S1"})
    entries = [await paid_entry(client, "S1", f"INV-{n}", "10.00") for n in range(5)]
    ids = [e["airbase_id"] for e in entries]

    async def page(number: int) -> list[str]:
        response = await client.get(ENTRIES, headers=SE, params={"page": number, "page_size": 2})
        return [e["airbase_id"] for e in response.json()["data"]]

    everything: list[str] = []
    number = 1
    while chunk := await page(number):
        everything += chunk
        number += 1
    assert everything == ids

    seen: list[str] = []
    number = 1
    while chunk := await page(number):
        seen += chunk
        for airbase_id in chunk:
            mark = {"status": "synced", "erp_reference_id": f"PAY-{airbase_id[:8]}"}
            marked = await client.patch(f"{ENTRIES}{airbase_id}/", headers=SE, json=mark)
            assert marked.status_code == 200
        number += 1
    assert seen == [ids[0], ids[1], ids[4]]
    left: list[Any] = (await client.get(ENTRIES, headers=SE)).json()["data"]
    assert [e["airbase_id"] for e in left] == [ids[2], ids[3]]
