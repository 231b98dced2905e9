from __future__ import annotations

import json

import httpx
import pytest
from sandbox_kit import SLACK_AUTH

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

POST = "/slack/api/chat.postMessage"
METADATA = {"event_type": "invoice_posted", "event_payload": {"invoice": "100001"}}


async def _post(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post(POST, json=body, headers=SLACK_AUTH)


async def _advance(client: httpx.AsyncClient, seconds: float) -> None:
    await client.post("/_sandbox/clock", json={"advance_seconds": seconds})


async def test_post_by_name_returns_channel_id_and_ts(client: httpx.AsyncClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Approve?*"}}]
    response = await _post(
        client, channel="#ap-approvals", text="Approve?", blocks=blocks, metadata=METADATA
    )
    body = response.json()
    assert response.status_code == 200
    assert body["ok"] is True
    assert body["channel"] == "C0AP00001"
    assert body["message"]["metadata"] == METADATA
    assert body["message"]["blocks"] == blocks
    assert body["ts"] == "1772445600.000000"  # 2026-03-02T10:00:00Z
    stored = (await client.get("/slack/_sandbox/messages?channel=ap-approvals")).json()
    assert [(m["channel"], m["ts"], m["text"]) for m in stored] == [
        ("C0AP00001", body["ts"], "Approve?")
    ]


async def test_form_encoded_post_with_json_fields(client: httpx.AsyncClient) -> None:
    response = await client.post(
        POST,
        data={"channel": "C0AP00002", "text": "big one", "metadata": json.dumps(METADATA)},
        headers=SLACK_AUTH,
    )
    assert response.json()["ok"] is True
    assert response.json()["message"]["metadata"] == METADATA


async def _make_awkward_channels(client: httpx.AsyncClient) -> None:
    await client.post("/slack/_sandbox/channels", json={"name": "outside", "is_member": False})
    await client.post("/slack/_sandbox/channels", json={"name": "old", "is_archived": True})


@pytest.mark.parametrize(
    ("headers", "body", "error"),
    [
        ({}, {"channel": "ap-large", "text": "x"}, "not_authed"),
        (
            {"Authorization": "Bearer xoxb-nope"},
            {"channel": "ap-large", "text": "x"},
            "invalid_auth",
        ),
        (SLACK_AUTH, {"channel": "no-such", "text": "x"}, "channel_not_found"),
        (SLACK_AUTH, {"text": "x"}, "channel_not_found"),
        (SLACK_AUTH, {"channel": "outside", "text": "x"}, "not_in_channel"),
        (SLACK_AUTH, {"channel": "old", "text": "x"}, "is_archived"),
        (SLACK_AUTH, {"channel": "ap-large"}, "no_text"),
        (
            SLACK_AUTH,
            {"channel": "ap-large", "text": "x", "metadata": {"a": 1}},
            "invalid_metadata_format",
        ),
    ],
)
async def test_errors_are_http_200_and_store_nothing(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, object], error: str
) -> None:
    await _make_awkward_channels(client)
    response = await client.post(POST, json=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"ok": False, "error": error}
    assert (await client.get("/slack/_sandbox/messages")).json() == []
    assert (await client.get("/slack/_sandbox/stats")).json()["errors"] == {error: 1}


async def test_revoked_token_then_restored(client: httpx.AsyncClient) -> None:
    await client.post("/slack/_sandbox/tokens/xoxb-mlc-demo-token/revoke")
    revoked = await _post(client, channel="ap-large", text="x")
    assert revoked.json() == {"ok": False, "error": "token_revoked"}
    await client.post("/slack/_sandbox/tokens/xoxb-mlc-demo-token/restore")
    assert (await _post(client, channel="ap-large", text="x")).json()["ok"] is True


async def test_second_post_within_a_second_is_429_per_channel(
    client: httpx.AsyncClient,
) -> None:
    first = await _post(client, channel="ap-approvals", text="one")
    second = await _post(client, channel="ap-approvals", text="two")
    other = await _post(client, channel="ap-large", text="elsewhere")
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert second.json() == {"ok": False, "error": "ratelimited"}
    assert other.json()["ok"] is True
    await _advance(client, 0.5)
    assert (await _post(client, channel="ap-approvals", text="three")).status_code == 429
    await _advance(client, 0.5)
    assert (await _post(client, channel="ap-approvals", text="four")).status_code == 200
    texts = [m["text"] for m in (await client.get("/slack/_sandbox/messages")).json()]
    assert texts == ["one", "elsewhere", "four"]
    stats = (await client.get("/slack/_sandbox/stats")).json()
    assert stats["posted"] == {"ap-approvals": 2, "ap-large": 1}
    assert stats["rate_limited"] == {"ap-approvals": 2}


async def test_history_is_newest_first_with_metadata_on_request(
    client: httpx.AsyncClient,
) -> None:
    for n in range(3):
        await _post(client, channel="finance-nordic", text=f"m{n}", metadata=METADATA)
        await _advance(client, 1)
    parent = (await client.get("/slack/_sandbox/messages")).json()[0]["ts"]
    await _post(client, channel="finance-nordic", text="reply", thread_ts=parent)
    params = {"channel": "C0AP00003", "include_all_metadata": "true", "limit": 2}
    page = (
        await client.get("/slack/api/conversations.history", params=params, headers=SLACK_AUTH)
    ).json()
    assert page["ok"] is True
    assert [m["text"] for m in page["messages"]] == ["m2", "m1"]
    assert page["has_more"] is True
    assert page["messages"][0]["metadata"] == METADATA
    plain = (
        await client.get(
            "/slack/api/conversations.history",
            params={"channel": "C0AP00003", "oldest": parent},
            headers=SLACK_AUTH,
        )
    ).json()
    assert [m["text"] for m in plain["messages"]] == ["m2", "m1"]
    assert "metadata" not in plain["messages"][0]


async def test_history_needs_auth(client: httpx.AsyncClient) -> None:
    response = await client.get("/slack/api/conversations.history", params={"channel": "x"})
    assert response.json() == {"ok": False, "error": "not_authed"}


async def test_lookup_by_email(client: httpx.AsyncClient) -> None:
    await client.post("/slack/_sandbox/users", json={"email": "Kari@Fjord.example", "name": "kari"})
    url = "/slack/api/users.lookupByEmail"
    found = await client.get(url, params={"email": "kari@fjord.example"}, headers=SLACK_AUTH)
    user = found.json()["user"]
    assert user["name"] == "kari"
    assert user["team_id"] == "T0MLCDEMO"
    assert user["profile"]["email"] == "kari@fjord.example"
    missing = await client.get(url, params={"email": "nobody@x.example"}, headers=SLACK_AUTH)
    assert missing.json() == {"ok": False, "error": "users_not_found"}


async def test_reset_forgets_messages_and_limits(client: httpx.AsyncClient) -> None:
    await _post(client, channel="ap-large", text="x")
    await client.post("/slack/_sandbox/reset")
    assert (await client.get("/slack/_sandbox/messages")).json() == []
    assert (await client.get("/slack/_sandbox/stats")).json()["posted"] == {}
    assert (await _post(client, channel="ap-large", text="y")).status_code == 200


async def test_injected_slack_fault(client: httpx.AsyncClient) -> None:
    await client.post("/slack/_sandbox/faults", json={"status": 503, "path_prefix": "/api/chat"})
    failed = await _post(client, channel="ap-large", text="x")
    assert failed.status_code == 503
    assert failed.json()["ok"] is False
    assert (await _post(client, channel="ap-large", text="x")).status_code == 200
