from __future__ import annotations

import httpx
import pytest
from sandbox_kit import SLACK_AUTH, frozen_config

from sandbox import create_app

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

ADMIN = "/slack/_sandbox"
API = "/slack/api"
TOKEN = "xoxb-mlc-demo-token"


async def _call_every_method(client: httpx.AsyncClient, token: str) -> dict[str, object]:
    auth = {"Authorization": f"Bearer {token}"}
    channels = (await client.get(f"{ADMIN}/channels")).json()
    ap_large = next(c["id"] for c in channels if c["name"] == "ap-large")
    calls = [
        ("POST", "chat.postMessage", {"json": {"channel": "ap-large", "text": "x"}}),
        ("GET", "conversations.history", {"params": {"channel": ap_large}}),
        ("GET", "conversations.replies", {"params": {"channel": ap_large, "ts": "1.0"}}),
        ("GET", "conversations.list", {}),
        ("GET", "users.lookupByEmail", {"params": {"email": "cfo@nordic-demo.example"}}),
        ("POST", "auth.test", {}),
    ]
    answers: dict[str, object] = {}
    for verb, method, kwargs in calls:
        response = await client.request(verb, f"{API}/{method}", headers=auth, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200, (method, response.text)
        answers[method] = response.json().get("error")
    return answers


async def test_visma_employees_are_slack_users(client: httpx.AsyncClient) -> None:
    employees = (
        await client.get("/visma/_sandbox/entities/employee", params={"company": "tenant-no-1"})
    ).json()
    email = employees[0]["contact"]["email"]

    found = await client.get(
        f"{API}/users.lookupByEmail", params={"email": email.upper()}, headers=SLACK_AUTH
    )

    user = found.json()["user"]
    assert found.json()["ok"] is True
    assert user["profile"]["email"] == email
    assert user["real_name"] == employees[0]["employeeName"]
    assert user["team_id"] == "T0MLCDEMO"
    listed = {u["email"]: u["id"] for u in (await client.get(f"{ADMIN}/users")).json()}
    assert listed[email] == user["id"]
    missing = await client.get(
        f"{API}/users.lookupByEmail", params={"email": "nobody@x.test"}, headers=SLACK_AUTH
    )
    assert missing.json() == {"ok": False, "error": "users_not_found"}


async def test_seeded_users_are_stable_across_runs() -> None:
    ids = []
    for _ in range(2):
        app = create_app(frozen_config())
        ids.append({u.email: u.id for u in app.state.sandbox.slack.users.values()})
    assert ids[0] == ids[1]
    assert len(ids[0]) > 2


async def test_revoked_token_fails_every_method(client: httpx.AsyncClient) -> None:
    assert set((await _call_every_method(client, TOKEN)).values()) <= {None, "thread_not_found"}
    await client.post(f"{ADMIN}/tokens/{TOKEN}/revoke")
    answers = await _call_every_method(client, TOKEN)
    assert set(answers.values()) == {"token_revoked"}


async def test_replaced_token_works_and_the_old_one_is_revoked(client: httpx.AsyncClient) -> None:
    replaced = await client.post(f"{ADMIN}/tokens/{TOKEN}/replace", json={"new_token": "xoxb-new"})
    assert replaced.json() == {"token": "xoxb-new", "replaced": TOKEN}
    assert set((await _call_every_method(client, TOKEN)).values()) == {"token_revoked"}
    fresh = await _call_every_method(client, "xoxb-new")
    assert fresh["chat.postMessage"] is None
    assert fresh["auth.test"] is None
    generated = await client.post("/slack/_sandbox/tokens/xoxb-new/replace")
    assert generated.json()["token"].startswith("xoxb-")
    unknown = await client.post(f"{ADMIN}/tokens/xoxb-never/replace")
    assert unknown.status_code == 404


async def test_bot_posts_become_message_events_when_asked() -> None:
    seen: list[bytes] = []

    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200)

    config = frozen_config()
    config.slack.events.url = "http://receiver/events"
    config.slack.events.deliver_bot_messages = True
    async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as callbacks:
        app = create_app(config, webhook_client=callbacks)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            await client.post(
                f"{API}/chat.postMessage",
                json={"channel": "ap-large", "text": "hello"},
                headers=SLACK_AUTH,
            )
            await client.post(f"{ADMIN}/events/drain")
    [body] = seen
    assert b'"bot_id":"B0MLCBOT01"' in body
    assert b'"type":"message"' in body
