"""BILL sandbox limits: ``BDC_1144`` past the hourly requests of a devKey, ``BDC_1322`` past
3 requests in flight per devKey and organization, and injected faults in BILL's body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from bill_kit import API, LOGIN, ORG, advance, error_code, login
from fastapi import FastAPI
from sandbox_kit import START

from sandbox import SandboxConfig, create_app

pytestmark = pytest.mark.anyio


def limited(**bill: object) -> SandboxConfig:
    return SandboxConfig.model_validate({"clock_speed": 0, "clock_start": START, "bill": bill})


@pytest.fixture
async def hourly(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(create_app(limited(requests_per_hour=4))) as client:
        yield client


async def test_the_hourly_limit_answers_bdc_1144_until_the_hour_is_over(
    hourly: httpx.AsyncClient,
) -> None:
    assert SandboxConfig().bill.requests_per_hour == 20_000
    headers = await login(hourly)
    for _ in range(4):
        assert (await hourly.get(f"{API}/vendors", headers=headers)).status_code == 200
    refused = await hourly.get(f"{API}/bills", headers=headers)
    assert (refused.status_code, error_code(refused)) == (400, "BDC_1144")
    body = refused.json()[0]
    assert (body["severity"], body["category"]) == ("ERROR", "RATE_LIMIT")
    assert body["timestamp"] == "2026-03-02T10:00:00.000+00:00"
    for wait in (1800, 1799):  # the session stays alive: a refused call is a call
        await advance(hourly, wait)
        assert error_code(await hourly.get(f"{API}/vendors", headers=headers)) == "BDC_1144"
    await advance(hourly, 1)
    assert (await hourly.get(f"{API}/vendors", headers=headers)).status_code == 200
    assert (await hourly.get("/bill/_sandbox/stats")).json()["refusals"] == {"BDC_1144": 3}


async def test_a_fourth_request_in_flight_answers_bdc_1322(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    # 5 sandbox seconds at 10x: each call takes half a real second, so four calls sent
    # together overlap; no call ends before all four have arrived.
    config = SandboxConfig.model_validate(
        {"clock_speed": 10, "clock_start": START, "bill": {"request_latency_seconds": 5}}
    )
    async with make_client(create_app(config)) as client:
        headers = await login(client)
        answers = await asyncio.gather(
            *(client.get(f"{API}/vendors", headers=headers) for _ in range(4))
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 200, 200, 400]
        assert [error_code(a) for a in answers if a.status_code == 400] == ["BDC_1322"]
        # Three at a time, as a client capped at 3 sends them: all answered.
        answers = await asyncio.gather(
            *(client.get(f"{API}/vendors", headers=headers) for _ in range(3))
        )
        assert [a.status_code for a in answers] == [200, 200, 200]
        stats = (await client.get("/bill/_sandbox/stats")).json()
        assert stats["most_in_flight"] == {ORG: 3}
        assert stats["refusals"] == {"BDC_1322": 1}


async def test_the_concurrency_cap_is_per_organization(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    other = {
        "id": "00801MLCDEMOSE000002",
        "name": "Svensk Demo AB",
        "users": [{"username": "ap@svensk-demo.example", "password": "pw-se"}],
    }
    config = SandboxConfig.model_validate(
        {
            "clock_speed": 10,
            "clock_start": START,
            "bill": {
                "request_latency_seconds": 5,
                "organizations": [*SandboxConfig().bill.organizations, other],
            },
        }
    )
    async with make_client(create_app(config)) as client:
        danish = await login(client)
        swedish_login = {
            **LOGIN,
            "username": "ap@svensk-demo.example",
            "password": "pw-se",
            "organizationId": other["id"],
        }
        swedish_session = (await client.post(f"{API}/login", json=swedish_login)).json()
        swedish = {**danish, "sessionId": swedish_session["sessionId"]}
        answers = await asyncio.gather(
            *(client.get(f"{API}/vendors", headers=h) for h in [danish, swedish] * 3)
        )
        assert [a.status_code for a in answers] == [200] * 6
        stats = (await client.get("/bill/_sandbox/stats")).json()
        assert stats["most_in_flight"] == {ORG: 3, other["id"]: 3}


async def test_injected_faults_answer_in_bills_error_body(client: httpx.AsyncClient) -> None:
    headers = await login(client)
    await client.post(
        "/bill/_sandbox/faults", json={"status": 503, "path_prefix": "/connect/v3/bills"}
    )
    await client.post(
        "/bill/_sandbox/faults",
        json={"status": 429, "retry_after": 30, "path_prefix": "/connect/v3/vendors"},
    )
    down = await client.get(f"{API}/bills", headers=headers)
    assert (down.status_code, error_code(down)) == (503, "BDC_1000")
    throttled = await client.get(f"{API}/vendors", headers=headers)
    assert (throttled.status_code, error_code(throttled)) == (429, "BDC_1144")
    assert throttled.headers["Retry-After"] == "30"
    assert (await client.get(f"{API}/bills", headers=headers)).status_code == 200
