"""Airbase sandbox limits and faults: the hourly budget per token with the recorded
``X-Ratelimit-*`` headers, DRF's 429 with Retry-After, aged by the sandbox clock, and
injected 429s (DRF's shape) and 5xx (plain HTML)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from airbase_kit import ADMIN, NO, SE, VENDORS
from fastapi import FastAPI
from sandbox_kit import START

from sandbox import SandboxConfig, create_app

pytestmark = pytest.mark.anyio


async def budget(client: httpx.AsyncClient, calls: int) -> None:
    response = await client.patch(f"{ADMIN}/limits", json={"requests_per_hour": calls})
    assert response.status_code == 200


async def test_the_hourly_budget_per_token_and_drfs_429(client: httpx.AsyncClient) -> None:
    await budget(client, 3)
    remaining = []
    for _ in range(3):
        response = await client.get(VENDORS, headers=SE)
        assert response.headers["X-Ratelimit-Limit"] == "3"
        remaining.append(response.headers["X-Ratelimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    refused = await client.get(VENDORS, headers=SE)
    assert refused.status_code == 429
    assert (
        refused.content
        == b'{"detail":"Request was throttled. Expected available in 3600 seconds."}'
    )
    assert refused.headers["Retry-After"] == "3600"
    assert refused.headers["X-Ratelimit-Remaining"] == "0"
    other_tenant = await client.get(VENDORS, headers=NO)
    assert other_tenant.status_code == 200
    await client.post("/_sandbox/clock", json={"advance_seconds": 3000})
    later = await client.get(VENDORS, headers=SE)
    assert later.headers["Retry-After"] == "600"
    await client.post("/_sandbox/clock", json={"advance_seconds": 600})
    again = await client.get(VENDORS, headers=SE)
    assert again.status_code == 200
    assert again.headers["X-Ratelimit-Remaining"] == "2"
    stats = (await client.get(f"{ADMIN}/stats")).json()
    assert stats["throttled"] == 2


@pytest.fixture
async def fast_client(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> AsyncIterator[httpx.AsyncClient]:
    config = SandboxConfig.model_validate({"clock_speed": 3600, "clock_start": START})
    async with make_client(create_app(config)) as client:
        yield client


async def test_retry_after_is_in_real_seconds_on_a_fast_clock(
    fast_client: httpx.AsyncClient,
) -> None:
    await budget(fast_client, 1)
    await fast_client.get(VENDORS, headers=SE)
    refused = await fast_client.get(VENDORS, headers=SE)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"  # an hour of the sandbox is a real second


async def test_injected_429_and_5xx(client: httpx.AsyncClient) -> None:
    rule = {"status": 429, "retry_after": 12, "times": 1}
    assert (await client.post(f"{ADMIN}/faults", json=rule)).status_code == 201
    throttled = await client.get(VENDORS, headers=SE)
    assert throttled.status_code == 429
    assert (
        throttled.content
        == b'{"detail":"Request was throttled. Expected available in 12 seconds."}'
    )
    assert throttled.headers["Retry-After"] == "12"
    for status in (500, 502, 503):
        await client.post(f"{ADMIN}/faults", json={"status": status, "times": 1})
        failed = await client.get(VENDORS, headers=SE)
        assert failed.status_code == status
        assert failed.headers["content-type"].startswith("text/html")
    assert (await client.get(VENDORS, headers=SE)).status_code == 200
    fired = (await client.get(f"{ADMIN}/faults/fired")).json()
    assert fired["by_status"] == {"429": 1, "500": 1, "502": 1, "503": 1}


async def test_a_share_of_requests_fails_and_admin_routes_never_do(
    client: httpx.AsyncClient,
) -> None:
    rule = {"status": 503, "times": None, "probability": 0.3, "path_prefix": "/v1/"}
    await client.post(f"{ADMIN}/faults", json=rule)
    statuses = [(await client.get(VENDORS, headers=SE)).status_code for _ in range(60)]
    failed = statuses.count(503)
    assert statuses.count(200) + failed == 60
    assert 8 <= failed <= 30
    for _ in range(10):
        admin = await client.get(f"{ADMIN}/vendors", params={"tenant": "tenant-se-1"})
        assert admin.status_code == 200
