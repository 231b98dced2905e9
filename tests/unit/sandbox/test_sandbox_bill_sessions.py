"""BILL sandbox sessions: login, the devKey and sessionId headers, idle and forced expiry,
logout, and the 200-logins-an-hour limit, all answering BILL's v3 error body."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from bill_kit import API, LOGIN, ORG, advance, error_code, login
from fastapi import FastAPI
from sandbox_kit import START

from sandbox import SandboxConfig, create_app

pytestmark = pytest.mark.anyio


async def test_login_returns_a_session_used_through_the_two_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(f"{API}/login", json=LOGIN)
    assert response.status_code == 200
    body = response.json()
    assert body["organizationId"] == ORG
    assert body["userId"].startswith("006")
    headers = {"devKey": LOGIN["devKey"], "sessionId": body["sessionId"]}
    assert (await client.get(f"{API}/vendors", headers=headers)).status_code == 200

    no_session = await client.get(f"{API}/vendors", headers={"devKey": LOGIN["devKey"]})
    assert (no_session.status_code, error_code(no_session)) == (401, "BDC_1109")
    other_key = await client.get(f"{API}/vendors", headers={**headers, "devKey": "not-a-key"})
    assert (other_key.status_code, error_code(other_key)) == (401, "BDC_1103")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"password": "wrong"}, "BDC_1102"),
        ({"username": "nobody@example.com"}, "BDC_1102"),
        ({"organizationId": "00801NOSUCHORG000000"}, "BDC_1102"),
        ({"devKey": "wrong"}, "BDC_1103"),
    ],
)
async def test_a_bad_login_is_an_authentication_error(
    client: httpx.AsyncClient, change: dict[str, str], code: str
) -> None:
    response = await client.post(f"{API}/login", json={**LOGIN, **change})
    assert (response.status_code, error_code(response)) == (401, code)
    assert response.json()[0]["category"] == "AUTHENTICATION"


async def test_a_login_without_its_fields_is_invalid_input(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/login", json={"username": "x"})
    assert (response.status_code, error_code(response)) == (400, "BDC_1001")


async def test_a_session_dies_after_35_idle_minutes_and_every_call_resets_the_timer(
    client: httpx.AsyncClient,
) -> None:
    headers = await login(client)
    for _ in range(3):  # 34 minutes idle, then a call: alive for 34 more each time
        await advance(client, 34 * 60)
        assert (await client.get(f"{API}/vendors", headers=headers)).status_code == 200
    await advance(client, 35 * 60)
    response = await client.get(f"{API}/vendors", headers=headers)
    assert (response.status_code, error_code(response)) == (401, "BDC_1109")
    fresh = await login(client)
    assert (await client.get(f"{API}/vendors", headers=fresh)).status_code == 200


async def test_forced_expiry_and_logout_end_sessions(client: httpx.AsyncClient) -> None:
    first, second = await login(client), await login(client)
    expired = await client.post("/bill/_sandbox/sessions/expire", json={"organization_id": ORG})
    assert expired.json() == {"expired": 2}
    for headers in (first, second):
        response = await client.get(f"{API}/bills", headers=headers)
        assert error_code(response) == "BDC_1109"
    third = await login(client)
    assert (await client.post(f"{API}/logout", headers=third)).status_code == 200
    assert error_code(await client.get(f"{API}/bills", headers=third)) == "BDC_1109"
    stats = (await client.get("/bill/_sandbox/stats")).json()
    assert stats["logins"] == {ORG: 3}
    assert stats["sessions_found_expired"] == {"ended": 3}


@pytest.fixture
async def few_logins(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> AsyncIterator[httpx.AsyncClient]:
    config = SandboxConfig.model_validate(
        {"clock_speed": 0, "clock_start": START, "bill": {"logins_per_hour": 5}}
    )
    async with make_client(create_app(config)) as client:
        yield client


async def test_logins_are_limited_per_hour_and_the_default_is_200(
    few_logins: httpx.AsyncClient,
) -> None:
    assert SandboxConfig().bill.logins_per_hour == 200
    for _ in range(5):
        await login(few_logins)
    refused = await few_logins.post(f"{API}/login", json=LOGIN)
    assert (refused.status_code, error_code(refused)) == (400, "BDC_1144")
    await advance(few_logins, 3600)
    await login(few_logins)
    stats = (await few_logins.get("/bill/_sandbox/stats")).json()
    assert stats["logins"] == {ORG: 6}
    assert stats["refusals"] == {"BDC_1144": 1}
