from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sandbox_kit import frozen_config, visma_token

from sandbox import create_app

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

LIST = "/visma/v1/supplierInvoice"


async def test_budget_exhaustion_gives_429_until_the_window_rolls(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    async with make_client(create_app(frozen_config(hourly_budget=3))) as client:
        auth = await visma_token(client)
        answers = [await client.get(LIST, headers=auth) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        limited = answers[-1]
        # START is 10:00:00 sharp, so the fixed hourly window has a full hour left.
        assert limited.headers["Retry-After"] == "3600"
        assert limited.headers["X-RateLimit-Reset"] == "3600"
        assert limited.headers["X-RateLimit-Limit"] == "3"
        assert limited.json()["ExceptionType"] == "IPPException"
        other_company = await client.get(LIST, headers=await visma_token(client, "tenant-no-1"))
        assert other_company.status_code == 200
        await client.post("/visma/_sandbox/clock", json={"advance_seconds": 3599})
        still = await client.get(LIST, headers=auth)
        assert still.status_code == 429
        assert still.headers["Retry-After"] == "1"
        await client.post("/visma/_sandbox/clock", json={"advance_seconds": 1})
        # The hour also ended the token's life, so fetch a new one.
        fresh = await client.get(LIST, headers=await visma_token(client))
        assert fresh.status_code == 200
        assert fresh.headers["X-RateLimit-Remaining"] == "2"
        stats = (await client.get("/visma/_sandbox/stats")).json()
    assert stats["calls"] == {"tenant-se-1": 4, "tenant-no-1": 1}
    assert stats["rate_limited"] == {"tenant-se-1": 2}


async def test_token_endpoint_does_not_spend_budget(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    async with make_client(create_app(frozen_config(hourly_budget=1))) as client:
        for _ in range(3):
            auth = await visma_token(client)
        assert (await client.get(LIST, headers=auth)).status_code == 200


async def test_injected_429_fires_the_requested_number_of_times(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    rule = {"status": 429, "retry_after": 2, "times": 2, "path_prefix": "/v1/supplierInvoice"}
    assert (await client.post("/visma/_sandbox/faults", json=rule)).status_code == 201
    first = await client.get(LIST, headers=auth)
    second = await client.get(f"{LIST}/100001", headers=auth)
    third = await client.get(LIST, headers=auth)
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "2"
    assert (await client.get("/visma/_sandbox/faults")).json() == []
    assert (await client.get("/visma/_sandbox/stats")).json()["faults_injected"] == 2


@pytest.mark.parametrize("status", [500, 503])
async def test_injected_server_errors_until_cleared(client: httpx.AsyncClient, status: int) -> None:
    auth = await visma_token(client)
    await client.post("/visma/_sandbox/faults", json={"status": status, "times": None})
    for _ in range(3):
        response = await client.get(LIST, headers=auth)
        assert response.status_code == status
        assert response.json()["ExceptionType"] == "IPPException"
    # Admin paths are never faulted, so the fault can always be cleared.
    assert (await client.delete("/visma/_sandbox/faults")).status_code == 200
    assert (await client.get(LIST, headers=auth)).status_code == 200


async def test_fault_respects_path_prefix_and_method(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    await client.post(
        "/visma/_sandbox/faults",
        json={"status": 500, "path_prefix": "/connect/token", "method": "POST"},
    )
    assert (await client.get(LIST, headers=auth)).status_code == 200
    response = await client.post("/visma/connect/token", data={})
    assert response.status_code == 500


async def test_delay_slows_the_response_then_answers_normally(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    await client.post("/visma/_sandbox/faults", json={"delay_seconds": 0.2})
    started = time.monotonic()
    response = await client.get(LIST, headers=auth)
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200
