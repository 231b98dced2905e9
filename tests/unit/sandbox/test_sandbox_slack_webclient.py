"""The Slack sandbox as Slack's official `slack_sdk.WebClient` sees it.

Every Web API method the project calls (chat.postMessage, chat.update,
conversations.history, conversations.replies, conversations.list, users.lookupByEmail;
auth.test besides) is
called through the official client, by the client's own verb and again by POST with a form
and with a JSON body, and must answer like slack.com: no HTTP 405, no framework `detail`,
the answer fields Slack's OpenAPI spec marks required, `channel_not_found` for a channel
name where Slack wants an ID, `has_more` and `response_metadata.next_cursor` that page to
the end, and Slack's auth errors. The official client has no transport seam, so the sandbox
runs in-process under uvicorn on a loopback socket this test binds itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sandbox_kit import frozen_config, served_on_loopback
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

pytestmark = pytest.mark.unit

TOKEN = "xoxb-mlc-demo-token"

REQUIRED = {
    "chat.postMessage": {"ok", "channel", "ts", "message"},
    "chat.update": {"ok", "channel", "ts", "text", "message"},
    "conversations.history": {
        "ok", "messages", "has_more", "pin_count", "channel_actions_ts", "channel_actions_count"
    },
    "conversations.replies": {"ok", "messages"},
    "conversations.list": {"ok", "channels"},
    "users.lookupByEmail": {"ok", "user"},
    "auth.test": {"ok", "url", "team", "user", "team_id", "user_id"},
}  # fmt: skip
"""Each method's required answer fields, from Slack's OpenAPI spec (slack-api-specs, web v2)."""


class Sandbox:
    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = httpx.Client(base_url=f"{url}/slack/_sandbox", timeout=10)

    def client(self, token: str | None = TOKEN) -> WebClient:
        return WebClient(token=token, base_url=f"{self.url}/slack/api/", timeout=10)

    def channel_id(self, name: str) -> str:
        return next(c["id"] for c in self.admin.get("/channels").json() if c["name"] == name)

    def calls(self) -> dict[str, int]:
        calls: dict[str, int] = self.admin.get("/stats").json()["calls"]
        return calls


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # Burst 1000: these calls test answers, not the per-channel rate limit.
    config = frozen_config().model_copy(deep=True)
    config.slack.burst = 1000
    with served_on_loopback(config) as url:
        running = Sandbox(url)
        yield running
        calls = running.calls()
        total = sum(calls.values())
        print(f"\nWebClient calls ({len(calls)} methods, {total} calls): {calls}")


def _answer(client: WebClient, method: str, verb: str, args: dict[str, Any]) -> dict[str, Any]:
    """One call by `verb`: GET (query), POST-form or POST-json; Slack's answer, even an error."""
    try:
        if verb == "GET":
            response = client.api_call(method, http_verb="GET", params=args)
        elif verb == "POST-form":
            response = client.api_call(method, data=args)
        else:
            response = client.api_call(method, json=args)
    except SlackApiError as exc:
        response = exc.response
    assert response.status_code == 200, (method, verb, response.status_code, response.data)
    data = response.data
    assert isinstance(data, dict)
    assert "detail" not in data
    return data


def test_every_method_answers_get_form_and_json_with_slacks_required_fields(
    sandbox: Sandbox,
) -> None:
    client = sandbox.client()
    channel = sandbox.channel_id("ap-approvals")
    parent = client.chat_postMessage(channel=channel, text="parent")["ts"]
    arguments = {
        "chat.postMessage": {"channel": channel, "text": "hello", "thread_ts": parent},
        "chat.update": {"channel": channel, "ts": parent, "text": "parent, approved"},
        "conversations.history": {"channel": channel, "limit": "5"},
        "conversations.replies": {"channel": channel, "ts": parent},
        "conversations.list": {"limit": "50"},
        "users.lookupByEmail": {"email": "cfo@nordic-demo.example"},
        "auth.test": {},
    }
    before = sandbox.calls()
    for method, args in arguments.items():
        for verb in ("GET", "POST-form", "POST-json"):
            data = _answer(client, method, verb, args)
            assert data["ok"] is True, (method, verb, data)
            assert REQUIRED[method] <= data.keys(), (method, verb, data.keys())
    after = sandbox.calls()
    assert {m: after.get(m, 0) - before.get(m, 0) for m in arguments} == dict.fromkeys(arguments, 3)


def test_the_clients_own_methods_work_against_the_sandbox(sandbox: Sandbox) -> None:
    client = sandbox.client()
    channel = sandbox.channel_id("ap-large")
    metadata = {"event_type": "mlc_command", "event_payload": {"command_id": "c-1"}}
    posted = client.chat_postMessage(channel="ap-large", text="x", metadata=metadata)
    assert posted["channel"] == channel  # a post may name the channel; the answer gives the ID
    reply = client.chat_postMessage(channel=channel, text="y", thread_ts=posted["ts"])

    history = client.conversations_history(channel=channel, include_all_metadata=True)
    assert history["messages"][0]["metadata"] == metadata
    assert reply["ts"] not in {m["ts"] for m in history["messages"]}  # replies stay in threads
    thread = client.conversations_replies(channel=channel, ts=posted["ts"])
    assert [m["ts"] for m in thread["messages"]] == [posted["ts"], reply["ts"]]
    listed = client.conversations_list(types="public_channel,private_channel")
    assert {"id": channel, "name": "ap-large"}.items() <= next(
        c for c in listed["channels"] if c["id"] == channel
    ).items()
    user = client.users_lookupByEmail(email="cfo@nordic-demo.example")
    assert user["user"]["profile"]["email"] == "cfo@nordic-demo.example"
    assert client.auth_test()["team_id"] == "T0MLCDEMO"


@pytest.mark.parametrize("verb", ["GET", "POST-form", "POST-json"])
def test_a_channel_name_where_slack_wants_an_id_is_channel_not_found(
    sandbox: Sandbox, verb: str
) -> None:
    client = sandbox.client()
    for method, args in {
        "conversations.history": {"channel": "ap-large"},
        "conversations.replies": {"channel": "#ap-large", "ts": "1.0"},
    }.items():
        data = _answer(client, method, verb, args)
        assert data == {"ok": False, "error": "channel_not_found"}, (method, data)


def test_history_pages_with_has_more_and_next_cursor_to_the_end(sandbox: Sandbox) -> None:
    sandbox.admin.post("/channels", json={"name": "paged"}).raise_for_status()
    channel = sandbox.channel_id("paged")
    seeded = sandbox.admin.post(
        f"/channels/{channel}/history", json={"count": 250, "spacing_seconds": 10}
    )
    assert seeded.json()["seeded"] == 250
    client = sandbox.client()

    # The client follows next_cursor itself; each step re-fills the same response object.
    pages = [page.data for page in client.conversations_history(channel=channel, limit=100)]

    assert [len(p["messages"]) for p in pages] == [100, 100, 50]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert pages[-1]["response_metadata"]["next_cursor"] == ""
    stamps = [float(m["ts"]) for p in pages for m in p["messages"]]
    assert stamps == sorted(stamps, reverse=True)
    assert len(set(stamps)) == 250
    # `oldest` bounds a lookup to the recent past: one page, however long the channel.
    recent = client.conversations_history(channel=channel, oldest=f"{stamps[9]:.6f}")
    assert [float(m["ts"]) for m in recent["messages"]] == stamps[:9]
    assert recent["has_more"] is False
    with pytest.raises(SlackApiError) as bad:
        client.conversations_history(channel=channel, cursor="not-a-cursor")
    assert bad.value.response["error"] == "invalid_cursor"


def test_replies_and_the_channel_list_page_with_cursors(sandbox: Sandbox) -> None:
    client = sandbox.client()
    channel = sandbox.channel_id("ap-approvals")
    parent = client.chat_postMessage(channel=channel, text="thread")["ts"]
    replies = [
        client.chat_postMessage(channel=channel, text=f"r{n}", thread_ts=parent)["ts"]
        for n in range(5)
    ]

    pages = [p.data for p in client.conversations_replies(channel=channel, ts=parent, limit=2)]

    assert [m["ts"] for p in pages for m in p["messages"]] == [parent, *replies]
    assert [p["has_more"] for p in pages] == [True, True, False]
    lists = [p.data for p in client.conversations_list(limit=2)]
    assert len(lists) > 1
    names = [c["name"] for p in lists for c in p["channels"]]  # type: ignore[index]
    assert set(names) == {c["name"] for c in sandbox.admin.get("/channels").json()}
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("token", "error"),
    [(None, "not_authed"), ("xoxb-wrong", "invalid_auth"), ("revoked", "token_revoked")],
)
def test_auth_errors_are_slacks_for_every_method(
    sandbox: Sandbox, token: str | None, error: str
) -> None:
    if token == "revoked":
        token = "xoxb-to-revoke"
        sandbox.admin.post("/tokens", json={"token": token}).raise_for_status()
        sandbox.admin.post(f"/tokens/{token}/revoke").raise_for_status()
    client = sandbox.client(token)
    for method in REQUIRED:
        for verb in ("GET", "POST-form", "POST-json"):
            assert _answer(client, method, verb, {}) == {"ok": False, "error": error}


def test_an_unknown_method_is_slacks_unknown_method_not_a_framework_404(
    sandbox: Sandbox,
) -> None:
    with pytest.raises(SlackApiError) as unknown:
        sandbox.client().api_call("chat.postMessageTypo", json={"channel": "x"})
    assert unknown.value.response.status_code == 404
    assert unknown.value.response["error"] == "unknown_method"
    assert "detail" not in unknown.value.response.data


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")  # no_text case
def test_chat_update_changes_the_bots_message_in_place_as_slack_does(sandbox: Sandbox) -> None:
    client = sandbox.client()
    channel = sandbox.channel_id("ap-large")
    posted = client.chat_postMessage(channel=channel, text="Invoice 7: 100 EUR")
    metadata = {"event_type": "mlc_command", "event_payload": {"command_id": "v2"}}

    updated = client.chat_update(
        channel=channel, ts=posted["ts"], text="Invoice 7: 100 EUR, approved", metadata=metadata
    )

    assert (updated["channel"], updated["ts"]) == (channel, posted["ts"])
    assert updated["message"]["edited"]["user"] == posted["message"]["user"]
    history = client.conversations_history(channel=channel, include_all_metadata=True)
    [found] = [m for m in history["messages"] if m["ts"] == posted["ts"]]
    assert (found["text"], found["metadata"]) == ("Invoice 7: 100 EUR, approved", metadata)
    sandbox.admin.post(f"/channels/{channel}/history", json={"count": 1}).raise_for_status()
    person = sandbox.admin.get("/messages", params={"channel": channel, "from_bot": False}).json()
    for args, error in [
        ({"channel": "ap-large", "ts": posted["ts"]}, "channel_not_found"),
        ({"channel": channel, "ts": "1.000001"}, "message_not_found"),
        ({"channel": channel, "ts": person[0]["ts"]}, "cant_update_message"),
        ({"channel": channel, "ts": posted["ts"], "text": ""}, "no_text"),
    ]:
        with pytest.raises(SlackApiError) as refused:
            client.chat_update(**{"text": "x", **args})
        assert refused.value.response.data == {"ok": False, "error": error}
