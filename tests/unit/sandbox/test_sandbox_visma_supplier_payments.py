"""The Visma sandbox's supplier payments: created with 201 + Location, found by their
reference, updated with If-Match (412 when stale), paying down the invoices they name, and
the test levers (a forced 412, a change right after a read)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sandbox_kit import visma_token

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

PAYMENTS = "/visma/v1/supplierPayment"
ADMIN = "/visma/_sandbox"


def _v(value: object) -> dict[str, object]:
    return {"value": value}


async def _open_invoice(
    client: httpx.AsyncClient, amount: str = "1000.00", status: str = "Open"
) -> dict[str, Any]:
    response = await client.post(
        f"{ADMIN}/invoices",
        json={"company": "tenant-se-1", "amount": amount, "status": status},
    )
    assert response.status_code == 201, response.text
    invoice: dict[str, Any] = response.json()
    return invoice


def _payment(invoice: dict[str, Any], amount: float, **changes: object) -> dict[str, object]:
    return {
        "supplier": _v(invoice["supplier"]["number"]),
        "paymentRef": _v("airbase:le_1"),
        "applicationDate": _v("2026-03-02"),
        "currency": _v(invoice["currencyId"]),
        "paymentAmount": _v(amount),
        "description": _v("Airbase entry le_1"),
        "paymentLines": [
            {
                "operation": "Insert",
                "documentType": _v("Invoice"),
                "refNbr": _v(invoice["referenceNumber"]),
                "amountPaid": _v(amount),
            }
        ],
        "allocations": [
            {"amount": _v(amount), "accountNumber": _v("6110"), "subaccount": _v("100-20")}
        ],
        **changes,
    }


async def _invoice(client: httpx.AsyncClient, auth: dict[str, str], ref: str) -> dict[str, Any]:
    read = await client.get(f"/visma/v1/supplierInvoice/Invoice/{ref}", headers=auth)
    body: dict[str, Any] = read.json()
    return body


async def test_a_payment_is_created_found_by_its_reference_and_pays_its_invoice(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    invoice = await _open_invoice(client)

    created = await client.post(PAYMENTS, headers=auth, json=_payment(invoice, 400.0))

    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert "/v1/supplierPayment/Payment/" in location
    read = await client.get(location, headers=auth)
    dto = read.json()
    assert read.headers["ETag"] == created.headers["ETag"]
    assert (dto["paymentRef"], dto["paymentAmount"], dto["supplier"]["number"]) == (
        "airbase:le_1", 400.0, invoice["supplier"]["number"]
    )  # fmt: skip
    assert dto["paymentLines"] == [
        {"documentType": "Invoice", "refNbr": invoice["referenceNumber"], "amountPaid": 400.0}
    ]
    assert dto["allocations"][0]["accountNumber"] == "6110"
    assert dto["allocations"][0]["subaccount"] == {"id": "100-20"}
    found = await client.get(PAYMENTS, headers=auth, params={"paymentRef": "airbase:le_1"})
    assert [p["refNbr"] for p in found.json()] == [dto["refNbr"]]
    none = await client.get(PAYMENTS, headers=auth, params={"paymentRef": "airbase:le_2"})
    assert none.json() == []
    paid = await _invoice(client, auth, invoice["referenceNumber"])
    assert (paid["balance"], paid["status"]) == (600.0, "Open")


async def test_paying_the_whole_balance_closes_the_invoice(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    invoice = await _open_invoice(client, amount="250.50")

    created = await client.post(PAYMENTS, headers=auth, json=_payment(invoice, 250.5))

    assert created.status_code == 201, created.text
    paid = await _invoice(client, auth, invoice["referenceNumber"])
    assert (paid["balance"], paid["status"]) == (0.0, "Closed")


@pytest.mark.parametrize(
    ("status", "amount", "changes", "refusal"),
    [
        ("Balanced", 100.0, {}, "not Open"),
        ("Open", 1000.01, {}, "balance"),
        ("Open", 100.0, {"paymentAmount": _v(99.0)}, "lines' total"),
        ("Open", 100.0, {"supplier": _v("99999")}, "Supplier 99999 not found"),
        ("Open", 100.0, {"paymentLines": []}, "at least one document"),
        (
            "Open", 100.0,
            {"allocations": [{"amount": _v(60.0), "accountNumber": _v("6110")}]},
            "allocations",
        ),
        ("Open", 100.0, {"cashAccount": _v("1930")}, "not supported"),
    ],
    ids=[
        "not-open", "beyond-balance", "lines-disagree", "unknown-supplier", "no-lines",
        "allocations-disagree", "unknown-field",
    ],
)  # fmt: skip
async def test_a_payment_visma_would_refuse_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, status: str, amount: float, changes: dict[str, object], refusal: str
) -> None:
    auth = await visma_token(client)
    invoice = await _open_invoice(client, status=status)

    refused = await client.post(PAYMENTS, headers=auth, json=_payment(invoice, amount, **changes))

    assert refused.status_code == 400
    assert refusal in refused.json()["ExceptionMessage"]
    unchanged = await _invoice(client, auth, invoice["referenceNumber"])
    assert unchanged["balance"] == 1000.0
    assert unchanged["timeStamp"] == invoice["timeStamp"]
    found = await client.get(PAYMENTS, headers=auth, params={"paymentRef": "airbase:le_1"})
    assert found.json() == []


async def test_an_update_honours_if_match_and_moves_the_invoice_balance_by_the_difference(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    invoice = await _open_invoice(client, amount="500.00")
    created = await client.post(PAYMENTS, headers=auth, json=_payment(invoice, 500.0))
    location, etag = created.headers["Location"], created.headers["ETag"]
    assert (await _invoice(client, auth, invoice["referenceNumber"]))["status"] == "Closed"
    lower = {
        "paymentAmount": _v(300.0),
        "paymentLines": [
            {
                "operation": "Update",
                "documentType": _v("Invoice"),
                "refNbr": _v(invoice["referenceNumber"]),
                "amountPaid": _v(300.0),
            }
        ],
        "allocations": [{"amount": _v(300.0), "accountNumber": _v("6120")}],
    }

    updated = await client.put(location, headers=auth | {"If-Match": etag}, json=lower)
    stale = await client.put(location, headers=auth | {"If-Match": etag}, json=lower)
    resupplied = await client.put(location, headers=auth, json={"supplier": _v("10002")})

    assert updated.status_code == 204, updated.text
    assert stale.status_code == 412
    assert resupplied.status_code == 400
    assert "supplier cannot be changed" in resupplied.json()["ExceptionMessage"]
    read = await client.get(location, headers=auth)
    assert read.json()["paymentAmount"] == 300.0
    assert read.headers["ETag"] == updated.headers["ETag"] != etag
    reopened = await _invoice(client, auth, invoice["referenceNumber"])
    assert (reopened["balance"], reopened["status"]) == (200.0, "Open")
    counts = (await client.get(f"{ADMIN}/actions", params={"company": "tenant-se-1"})).json()
    payment_id = f"Payment:{read.json()['refNbr']}"
    assert {(c["action"], c["count"]) for c in counts if c["entityId"] == payment_id} == {
        ("create", 1), ("update", 1)
    }  # fmt: skip


async def test_a_forced_412_refuses_one_write_and_applies_nothing(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    invoice = await _open_invoice(client)
    fault = {"status": 412, "path_prefix": "/v1/supplierPayment", "method": "POST", "times": 1}
    assert (await client.post(f"{ADMIN}/faults", json=fault)).status_code == 201

    refused = await client.post(PAYMENTS, headers=auth, json=_payment(invoice, 100.0))
    accepted = await client.post(PAYMENTS, headers=auth, json=_payment(invoice, 100.0))

    assert (refused.status_code, accepted.status_code) == (412, 201)
    found = await client.get(PAYMENTS, headers=auth, params={"paymentRef": "airbase:le_1"})
    assert len(found.json()) == 1
    assert (await _invoice(client, auth, invoice["referenceNumber"]))["balance"] == 900.0


async def test_a_change_armed_after_a_read_lands_between_the_read_and_the_write(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    invoice = await _open_invoice(client)
    created = await client.post(PAYMENTS, headers=auth, json=_payment(invoice, 100.0))
    location = created.headers["Location"]
    key = "Payment:" + location.rsplit("/", 1)[1]
    armed = await client.post(
        f"{ADMIN}/entities/supplierPayment/tenant-se-1/change-after-read",
        json={"key": key, "fields": {"paymentAmount": 90.0}},
    )
    assert armed.status_code == 200, armed.text

    read = await client.get(location, headers=auth)
    written = await client.put(
        location, headers=auth | {"If-Match": read.headers["ETag"]}, json={"description": _v("x")}
    )

    assert read.json()["paymentAmount"] == 100.0  # the reader saw the version before
    assert written.status_code == 412
    again = await client.get(location, headers=auth)
    assert again.json()["paymentAmount"] == 90.0
    assert again.json()["description"] == "Airbase entry le_1"
    assert again.headers["ETag"] != read.headers["ETag"]
    assert (await client.get(location, headers=auth)).headers["ETag"] == again.headers["ETag"]
