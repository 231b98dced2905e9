"""A seeded BILL organization: vendors mirroring a Visma company's suppliers plus unmatched
ones, their bills with BILL GL accounts and departments, all stamped before the clock's start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from bill_kit import API, ORG, login
from fastapi import FastAPI
from sandbox_kit import START

from sandbox import SandboxConfig, create_app
from sandbox.bill.config import DEMO_PASSWORD, DEMO_USERNAME
from sandbox.bill.seeding import CHART_OF_ACCOUNTS, DEPARTMENTS

pytestmark = pytest.mark.anyio


def seeded_config() -> SandboxConfig:
    organization = {
        "id": ORG,
        "name": "Nordisk Demo ApS",
        "users": [{"username": DEMO_USERNAME, "password": DEMO_PASSWORD}],
        "seed": {"visma_tenant": "tenant-dk-1", "vendors": 5, "unmatched_vendors": 2},
    }
    return SandboxConfig.model_validate(
        {"clock_speed": 0, "clock_start": START, "bill": {"organizations": [organization]}}
    )


async def read(client: httpx.AsyncClient, headers: dict[str, str], path: str) -> list[Any]:
    response = await client.get(f"{API}/{path}", headers=headers, params={"max": 100})
    assert response.status_code == 200, response.text
    return response.json()["results"]  # type: ignore[no-any-return]


async def test_vendors_mirror_visma_suppliers_and_bills_use_the_bill_chart(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    app = create_app(seeded_config())
    async with make_client(app) as client:
        headers = await login(client)
        vendors = await read(client, headers, "vendors")
        bills = await read(client, headers, "bills")
    visma = app.state.sandbox.visma.store.list("supplier", "tenant-dk-1")
    suppliers = {s.fields["vatRegistrationId"]: s.fields["name"] for s in visma}

    assert len(vendors) == 7
    mirrored, unmatched = vendors[:5], vendors[5:]
    assert {v["taxId"]: v["name"] for v in mirrored}.items() <= suppliers.items()
    assert all(v["taxId"] not in suppliers for v in unmatched)
    assert len(bills) == 14
    assert {b["vendorId"] for b in bills} == {v["id"] for v in vendors}
    for bill in bills:
        assert bill["updatedTime"] < START.isoformat()
        assert bill["createdTime"] > max(v["createdTime"] for v in vendors)
        assert bill["dueDate"] > bill["invoice"]["invoiceDate"]
        for line in bill["billLineItems"]:
            assert line["classifications"]["chartOfAccountId"] in CHART_OF_ACCOUNTS
            assert line["classifications"]["departmentId"] in DEPARTMENTS
    assert len({b["invoice"]["invoiceNumber"] for b in bills}) == 14


async def test_an_organization_without_a_seed_starts_empty(client: httpx.AsyncClient) -> None:
    headers = await login(client)
    assert await read(client, headers, "vendors") == []
    assert SandboxConfig().bill.organizations[0].id == ORG
