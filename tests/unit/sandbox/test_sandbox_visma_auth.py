from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sandbox_kit import DEMO_FORM, frozen_config, visma_token

from sandbox import create_app

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

IPP_KEYS = {
    "ExceptionType",
    "ExceptionMessage",
    "ExceptionFaultCode",
    "ExceptionMessageID",
    "ExceptionDetails",
}


async def test_token_is_issued_with_configured_lifetime(client: httpx.AsyncClient) -> None:
    response = await client.post("/visma/connect/token", data=DEMO_FORM)
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == DEMO_FORM["scope"]
    again = await client.post("/visma/connect/token", data=DEMO_FORM)
    assert again.json()["access_token"] != body["access_token"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"client_id": "someone-else"}, "invalid_client"),
        ({"tenant_id": "tenant-fi-9"}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
    ],
)
async def test_bad_credentials_are_refused(
    client: httpx.AsyncClient, change: dict[str, str], error: str
) -> None:
    response = await client.post("/visma/connect/token", data={**DEMO_FORM, **change})
    assert response.status_code == 400
    assert response.json()["error"] == error


async def test_token_expires_on_the_sandbox_clock(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    assert (await client.get("/visma/v1/supplierInvoice", headers=auth)).status_code == 200
    await client.post("/visma/_sandbox/clock", json={"advance_seconds": 3599})
    assert (await client.get("/visma/v1/supplierInvoice", headers=auth)).status_code == 200
    await client.post("/visma/_sandbox/clock", json={"advance_seconds": 1})
    expired = await client.get("/visma/v1/supplierInvoice", headers=auth)
    assert expired.status_code == 401
    assert set(expired.json()) == IPP_KEYS
    assert expired.json()["ExceptionType"] == "IPPException"


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc"])
async def test_unknown_or_missing_token_is_401(
    client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.get("/visma/v1/supplierInvoice", headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == IPP_KEYS
    stats = (await client.get("/visma/_sandbox/stats")).json()
    assert stats["unauthorized"] == 1
    assert stats["calls"] == {}


async def test_token_is_bound_to_its_company(client: httpx.AsyncClient) -> None:
    await client.post(
        "/visma/_sandbox/invoices", json={"company": "tenant-no-1", "amount": "1234.50"}
    )
    se = await client.get("/visma/v1/supplierInvoice", headers=await visma_token(client))
    no = await client.get(
        "/visma/v1/supplierInvoice", headers=await visma_token(client, "tenant-no-1")
    )
    assert se.json()[0]["metadata"]["totalCount"] == 7
    assert no.json()[0]["metadata"]["totalCount"] == 8
    stats = (await client.get("/visma/_sandbox/stats")).json()
    assert stats["calls"] == {"tenant-se-1": 1, "tenant-no-1": 1}
    assert stats["tokens_issued"] == 2


@pytest.mark.parametrize(("strict", "expected"), [(False, 200), (True, 401)])
async def test_company_header_is_checked_only_when_strict(
    make_client: Callable[[FastAPI], httpx.AsyncClient], strict: bool, expected: int
) -> None:
    app = create_app(frozen_config(strict_company_header=strict))
    async with make_client(app) as client:
        auth = await visma_token(client)
        other = await client.get(
            "/visma/v1/supplierInvoice", headers={**auth, "ipp-company-id": "tenant-dk-1"}
        )
        same = await client.get(
            "/visma/v1/supplierInvoice", headers={**auth, "ipp-company-id": "tenant-se-1"}
        )
    assert other.status_code == expected
    assert same.status_code == 200


async def test_a_scope_the_client_may_not_have_is_invalid_scope() -> None:
    config = frozen_config().model_copy(deep=True)
    config.visma.clients = [
        c.model_copy(update={"scopes": ["vismanet_erp_service_api:read"]})
        for c in config.visma.clients
    ]
    transport = httpx.ASGITransport(app=create_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        read = await client.post("/visma/connect/token", data=DEMO_FORM)
        update = await client.post(
            "/visma/connect/token",
            data={
                **DEMO_FORM,
                "scope": "vismanet_erp_service_api:read vismanet_erp_service_api:update",
            },
        )
        unnamed = await client.post("/visma/connect/token", data={**DEMO_FORM, "scope": ""})

    assert read.json()["scope"] == "vismanet_erp_service_api:read"
    assert update.status_code == 400
    assert update.json()["error"] == "invalid_scope"
    assert "vismanet_erp_service_api:update" in update.json()["error_description"]
    assert unnamed.json()["scope"] == "vismanet_erp_service_api:read"
