"""The Twilio sandbox's admin API and settings: numbers made to fail, the failure share,
the concurrency limit from the configuration, the DateSent choice for unsent messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sandbox_kit import frozen_config

from sandbox import SandboxConfig, create_app
from sandbox.twilio.config import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_FROM

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

MESSAGES = f"/twilio/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Messages.json"
AUTH = (DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
ADMIN = "/twilio/_sandbox"


async def _client(config: SandboxConfig) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(config)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
        yield c
        await app.state.sandbox.twilio.cancel()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(frozen_config()):
        yield c


async def _send(client: httpx.AsyncClient, to: str) -> httpx.Response:
    return await client.post(MESSAGES, data={"To": to, "From": DEMO_FROM, "Body": "x"}, auth=AUTH)


async def test_a_number_refused_by_the_admin_gets_its_code(client: httpx.AsyncClient) -> None:
    assert (await _send(client, "+46701130001")).status_code == 201
    rule = {"number": "+46701130001", "code": 21610}
    assert (await client.post(f"{ADMIN}/numbers/refused", json=rule)).status_code == 201
    refused = await _send(client, "+46701130001")
    assert refused.status_code == 400
    assert refused.json() == {
        "code": 21610,
        "message": "Attempt to send to unsubscribed recipient",
        "more_info": "https://www.twilio.com/docs/errors/21610",
        "status": 400,
    }
    assert (await client.delete(f"{ADMIN}/numbers/+46701130001")).status_code == 200
    assert (await _send(client, "+46701130001")).status_code == 201
    stats = (await client.get(f"{ADMIN}/stats")).json()
    assert stats["refused"] == {"21610": 1}
    assert stats["created"] == 2


async def test_a_carrier_outcome_set_by_the_admin(client: httpx.AsyncClient) -> None:
    rule = {"number": "+46701130002", "code": 30005}
    assert (await client.post(f"{ADMIN}/numbers/outcomes", json=rule)).status_code == 201
    bad = {"number": "+46701130002", "code": 21211}
    assert (await client.post(f"{ADMIN}/numbers/outcomes", json=bad)).status_code == 422
    sid = (await _send(client, "+46701130002")).json()["sid"]
    await client.post(f"{ADMIN}/clock", json={"advance_seconds": 10})
    fetched = (await client.get(f"{MESSAGES[:-5]}/{sid}.json", auth=AUTH)).json()
    assert (fetched["status"], fetched["error_code"]) == ("undelivered", 30005)


async def test_the_failure_share_is_drawn_from_the_seed(client: httpx.AsyncClient) -> None:
    await client.patch(f"{ADMIN}/settings", json={"failure_rate": 0.25})
    for n in range(200):
        assert (await _send(client, f"+4670114{n:04d}")).status_code == 201
    await client.post(f"{ADMIN}/clock", json={"advance_seconds": 10})
    finals = (await client.get(f"{ADMIN}/stats")).json()["final_statuses"]
    failed = finals.get("undelivered", 0) + finals.get("failed", 0)
    assert finals["delivered"] + failed == 200
    assert 30 <= failed <= 70  # 25% of 200 = 50, seeded
    codes = {m["error_code"] for m in (await client.get(f"{ADMIN}/messages")).json()}
    assert codes == {None, 30003, 30005, 30006}


async def test_the_concurrency_limit_comes_from_the_configuration() -> None:
    config = frozen_config().model_copy(deep=True)
    config.twilio.accounts[0].concurrency_limit = 3
    async for client in _client(config):
        accounts = (await client.get(f"{ADMIN}/accounts")).json()
        assert accounts[0]["concurrency_limit"] == 3
        assert "auth_token" not in str(accounts)
        assert DEMO_AUTH_TOKEN not in str(accounts)


async def test_unsent_messages_and_the_date_sent_filter(client: httpx.AsyncClient) -> None:
    await _send(client, "+46701130003")
    query = {"To": "+46701130003", "DateSent>": "2026-03-02"}
    assert len((await client.get(MESSAGES, params=query, auth=AUTH)).json()["messages"]) == 1
    await client.patch(f"{ADMIN}/settings", json={"unsent_match_date_sent": False})
    assert (await client.get(MESSAGES, params=query, auth=AUTH)).json()["messages"] == []
    await client.post(f"{ADMIN}/clock", json={"advance_seconds": 1})
    assert len((await client.get(MESSAGES, params=query, auth=AUTH)).json()["messages"]) == 1


async def test_a_bad_list_query_is_a_twilio_400(client: httpx.AsyncClient) -> None:
    for params in ({"PageSize": "0"}, {"DateSent": "yesterday"}, {"PageToken": "PAnope"}):
        response = await client.get(MESSAGES, params=params, auth=AUTH)
        assert response.status_code == 400
        assert set(response.json()) == {"code", "message", "more_info", "status"}


async def test_a_timeout_after_the_send_leaves_the_message_sent(
    client: httpx.AsyncClient,
) -> None:
    """The fault a sink must survive: its call times out, yet Twilio queued the message."""
    fault = {"path_prefix": "/2010-04-01", "method": "POST", "delay_after_seconds": 30}
    assert (await client.post(f"{ADMIN}/faults", json=fault)).status_code == 201
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(_send(client, "+46701130004"), timeout=0.2)
    listed = await client.get(MESSAGES, params={"To": "+46701130004"}, auth=AUTH)
    assert [m["status"] for m in listed.json()["messages"]] == ["queued"]


async def test_date_sent_filters_go_by_the_gmt_day(client: httpx.AsyncClient) -> None:
    """The spec describes DateSent as GMT dates: a time part does not narrow the day."""
    await _send(client, "+46701130005")  # created 2026-03-02 10:00 UTC
    cases = {
        ("DateSent>", "2026-03-02T23:59:59Z"): 1,
        ("DateSent>", "2026-03-03"): 0,
        ("DateSent<", "2026-03-02T00:00:00Z"): 1,
        ("DateSent<", "2026-03-01"): 0,
        ("DateSent", "Mon, 02 Mar 2026 18:00:00 +0000"): 1,
        ("DateSent", "2026-03-01"): 0,
    }
    for (name, value), expected in cases.items():
        query = {"To": "+46701130005", name: value}
        found = (await client.get(MESSAGES, params=query, auth=AUTH)).json()["messages"]
        assert len(found) == expected, (name, value)
