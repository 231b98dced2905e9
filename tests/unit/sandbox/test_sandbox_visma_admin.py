"""The generic admin API, the seeded data's cross references, and faults on every route."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sandbox_kit import frozen_config, visma_token

from sandbox import create_app
from sandbox.visma.entities import ENTITY_SPECS, EntitySpec

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

ADMIN = "/visma/_sandbox/entities"
COMPANY = "tenant-se-1"


async def _all(client: httpx.AsyncClient, entity: str) -> list[dict[str, object]]:
    response = await client.get(f"{ADMIN}/{entity}", params={"company": COMPANY})
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()
    return items


async def test_create_assigns_the_next_number_and_keeps_given_fields(
    client: httpx.AsyncClient,
) -> None:
    body = {"company": COMPANY, "fields": {"orderTotal": 4321.0, "status": "Open"}}
    created = await client.post(f"{ADMIN}/purchaseOrder", json=body)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["entityId"] == "RegularOrder:PO-2026-90011"
    assert (order["orderTotal"], order["status"]) == (4321.0, "Open")
    assert order["createdDateTime"] == order["lastModifiedDateTime"] == "2026-03-02T10:00:00.000"
    assert order["supplier"]["number"] in {s["number"] for s in await _all(client, "supplier")}
    again = await client.post(
        f"{ADMIN}/purchaseOrder",
        json={"company": COMPANY, "fields": {"orderNbr": order["orderNbr"]}},
    )
    assert again.status_code == 409


async def test_admin_refuses_unknown_things_and_id_changes(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{ADMIN}/nosuchthing")).status_code == 404
    unknown_company = await client.post(f"{ADMIN}/customer", json={"company": "tenant-xx-9"})
    assert unknown_company.status_code == 404
    assert (await client.patch(f"{ADMIN}/customer/{COMPANY}/99999", json={})).status_code == 404
    renamed = await client.patch(f"{ADMIN}/customer/{COMPANY}/20001", json={"number": "1"})
    assert renamed.status_code == 400
    kinds = (await client.get(ADMIN)).json()
    assert [k["route"] for k in kinds] == [s.route for s in ENTITY_SPECS]


async def test_invoice_alias_routes_share_the_generic_store(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/visma/_sandbox/invoices", json={"company": COMPANY, "amount": "500.00"}
    )
    reference = created.json()["referenceNumber"]
    assert reference == "100008"
    generic = await _all(client, "supplierInvoice")
    assert generic[-1]["entityId"] == f"Invoice:{reference}"
    patched = await client.patch(
        f"/visma/_sandbox/invoices/{COMPANY}/{reference}", json={"vat_amount": "100"}
    )
    assert patched.json()["vatAmount"] == 100.0


async def test_seed_sets_the_count_of_every_entity(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/visma/_sandbox/seed",
        json={"invoices_per_company": 2, "records_per_company": 3, "seed": 5},
    )
    counts = response.json()["entities"]
    assert counts["supplierInvoice"][COMPANY] == 2
    assert counts["supplier"][COMPANY] == 12  # the invoice ledger's suppliers stay
    assert counts["employee"] == {"tenant-se-1": 3, "tenant-no-1": 3, "tenant-dk-1": 3}
    assert counts["purchaseOrder"][COMPANY] >= 3


async def test_seeded_records_reference_each_other(client: httpx.AsyncClient) -> None:
    suppliers = {s["number"]: s for s in await _all(client, "supplier")}
    employees = {e["employeeNumber"] for e in await _all(client, "employee")}
    orders = {o["orderNbr"] for o in await _all(client, "purchaseOrder")}
    for invoice in await _all(client, "supplierInvoice"):
        supplier = invoice["supplier"]
        assert isinstance(supplier, dict)
        assert suppliers[supplier["number"]]["name"] == supplier["name"]
        lines = invoice["invoiceLines"]
        assert isinstance(lines, list)
        assert {line["poNumber"] for line in lines if line["poNumber"]} <= orders
    for claim in await _all(client, "expenseClaim"):
        claimed = claim["claimedBy"]
        assert isinstance(claimed, dict)
        assert claimed["id"] in employees
    emails = [e["contact"] for e in await _all(client, "employee")]
    assert all(str(c["email"]).endswith("@example-se.test") for c in emails)  # type: ignore[index]
    classes = {s["supplierClass"]["description"] for s in suppliers.values()}  # type: ignore[index]
    assert classes <= {
        "IT",
        "Logistics",
        "Raw materials",
        "Services",
        "Office supplies",
        "Facilities",
    }
    accounts = {a["accountCd"] for a in await _all(client, "account")}
    assert {"1930", "2440", "4010", "5010"} <= accounts


@pytest.mark.parametrize("spec", ENTITY_SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_can_be_injected_on_every_route(
    client: httpx.AsyncClient, spec: EntitySpec, status: int
) -> None:
    route = spec.route
    auth = await visma_token(client)
    rule = {"status": status, "times": 1, "path_prefix": route}
    assert (await client.post("/visma/_sandbox/faults", json=rule)).status_code == 201
    faulted = await client.get(f"/visma{route}", headers=auth)
    assert faulted.status_code == status
    assert faulted.json()["ExceptionType"] == "IPPException"
    assert (await client.get(f"/visma{route}", headers=auth)).status_code == 200


async def test_probability_faults_a_seeded_share_of_calls(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    async def run() -> list[int]:
        async with make_client(create_app(frozen_config(hourly_budget=1000))) as client:
            auth = await visma_token(client)
            rule = {"status": 503, "times": None, "probability": 0.1}
            await client.post("/visma/_sandbox/faults", json=rule)
            return [
                (await client.get("/visma/v1/customer", headers=auth)).status_code
                for _ in range(200)
            ]

    first, second = await run(), await run()
    assert first == second, "the fault RNG is seeded from the config"
    assert first.count(503) == 24  # 10% of 200, as drawn for seed 42
    assert set(first) == {200, 503}


@pytest.mark.parametrize(("probability", "faulted"), [(0.0, 0), (1.0, 5)])
async def test_probability_edges(
    client: httpx.AsyncClient, probability: float, faulted: int
) -> None:
    auth = await visma_token(client)
    rule = {"status": 500, "times": None, "probability": probability}
    await client.post("/visma/_sandbox/faults", json=rule)
    codes = [(await client.get("/visma/v1/account", headers=auth)).status_code for _ in range(5)]
    assert codes.count(500) == faulted


async def test_a_long_delay_outlasts_a_client_timeout(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    rule = {"delay_seconds": 30, "times": 1, "path_prefix": "/v2/journaltransaction"}
    await client.post("/visma/_sandbox/faults", json=rule)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.get("/visma/v2/journaltransaction", headers=auth), 0.3)
    fine = await client.get("/visma/v2/journaltransaction", headers=auth)
    assert fine.status_code == 200
    assert (await client.get("/visma/_sandbox/stats")).json()["faults_injected"] == 1
