"""SlackClient against a MockTransport that answers like the Slack Web API."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from chassis.errors import PermanentError, RetryableError, SystemUnavailable
from slack_client import (
    MessageMetadata,
    PostedMessage,
    SlackChannelError,
    SlackClient,
    SlackCredentialError,
    SlackError,
    SlackRateLimited,
    SlackRequestError,
    SlackServerError,
    SlackUnavailable,
)

pytestmark = pytest.mark.unit

TOKEN = "xoxb-very-secret-token"
BASE = "https://slack.test/api"


class FakeSlack:
    """Records requests; answers from a per-method script of (status, body, headers)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: dict[str, list[tuple[int, Any, dict[str, str]]]] = {}

    def answer(
        self, method: str, body: Any, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.answers.setdefault(method, []).append((status, body, headers or {}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        method = request.url.path.rsplit("/", 1)[1]
        status, body, headers = self.answers[method].pop(0)
        if isinstance(body, Exception):
            raise body
        return httpx.Response(status, json=body, headers=headers)


def make(fake: FakeSlack) -> SlackClient:
    http = httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(fake))
    return SlackClient(http, token=SecretStr(TOKEN))


@pytest.mark.anyio
async def test_post_message_sends_json_and_returns_channel_and_ts() -> None:
    fake = FakeSlack()
    fake.answer("chat.postMessage", {"ok": True, "channel": "C1", "ts": "1700.0001", "message": {}})
    client = make(fake)
    posted = await client.post_message(
        channel="#ap",
        text="Invoice 123 needs approval",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
        metadata=MessageMetadata(event_type="invoice_posted", event_payload={"invoice": "123"}),
        thread_ts="1699.0001",
    )
    assert posted == PostedMessage(channel="C1", ts="1700.0001")
    request = fake.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/api/chat.postMessage"
    assert request.headers["content-type"].startswith("application/json")
    assert json.loads(request.content) == {
        "channel": "#ap",
        "text": "Invoice 123 needs approval",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
        "metadata": {"event_type": "invoice_posted", "event_payload": {"invoice": "123"}},
        "thread_ts": "1699.0001",
    }


@pytest.mark.anyio
async def test_post_message_omits_unset_optionals() -> None:
    fake = FakeSlack()
    fake.answer("chat.postMessage", {"ok": True, "channel": "C1", "ts": "1.2"})
    await make(fake).post_message(channel="C1", text="hi")
    assert json.loads(fake.requests[0].content) == {"channel": "C1", "text": "hi"}


@pytest.mark.parametrize(
    ("code", "error_type", "retryable"),
    [
        ("channel_not_found", SlackChannelError, False),
        ("not_in_channel", SlackChannelError, False),
        ("is_archived", SlackChannelError, False),
        ("invalid_auth", SlackCredentialError, False),
        ("account_inactive", SlackCredentialError, False),
        ("token_revoked", SlackCredentialError, False),
        ("not_authed", SlackCredentialError, False),
        ("token_expired", SlackCredentialError, False),
        ("missing_scope", SlackCredentialError, False),
        ("msg_too_long", SlackRequestError, False),
        ("no_text", SlackRequestError, False),
        ("rate_limited", SlackRateLimited, True),
        ("service_unavailable", SlackUnavailable, True),
        ("internal_error", SlackServerError, True),
        ("fatal_error", SlackServerError, True),
    ],
)
@pytest.mark.anyio
async def test_ok_false_errors_are_classified(
    code: str, error_type: type[SlackError], retryable: bool
) -> None:
    fake = FakeSlack()
    fake.answer("chat.postMessage", {"ok": False, "error": code})
    with pytest.raises(error_type) as info:
        await make(fake).post_message(channel="C1", text="hi")
    assert info.value.error == code
    assert isinstance(info.value, RetryableError) is retryable
    assert isinstance(info.value, PermanentError) is not retryable
    # Only throttling and an announced outage are waited out without spending the budget.
    assert isinstance(info.value, SystemUnavailable) is (
        code in {"rate_limited", "service_unavailable"}
    )
    assert TOKEN not in str(info.value)


@pytest.mark.anyio
async def test_http_429_is_rate_limited_with_retry_after() -> None:
    fake = FakeSlack()
    fake.answer(
        "chat.postMessage",
        {"ok": False, "error": "ratelimited"},
        status=429,
        headers={"Retry-After": "12"},
    )
    with pytest.raises(SlackRateLimited) as info:
        await make(fake).post_message(channel="C1", text="hi")
    assert info.value.retry_after == 12.0
    assert info.value.error == "ratelimited"
    assert len(fake.requests) == 1  # no transport retries: the sink paces itself


@pytest.mark.parametrize(
    ("status", "headers", "body", "error_type", "retry_after"),
    [
        (503, {}, {"ok": False}, SlackUnavailable, None),
        (503, {"Retry-After": "7"}, None, SlackUnavailable, 7.0),
        (429, {}, None, SlackRateLimited, None),
        (429, {"Retry-After": "7"}, {"ok": False, "error": "ratelimited"}, SlackRateLimited, 7.0),
        (500, {}, None, SlackServerError, None),
        (502, {}, {"ok": False, "error": "x"}, SlackServerError, None),
        (504, {}, None, SlackServerError, None),
        (501, {}, None, SlackServerError, None),
    ],
)
@pytest.mark.anyio
async def test_only_429_and_503_are_outages_other_5xx_spend_the_budget(
    status: int,
    headers: dict[str, str],
    body: Any,
    error_type: type[SlackError],
    retry_after: float | None,
) -> None:
    """429 and 503 (with or without Retry-After) say Slack is throttling or down: the runner
    waits them out at no cost to the record (SystemUnavailable). Any other 5xx is a plain
    retryable error, so a request that always gets a 500 is dead-lettered when its budget is
    spent instead of holding its channel forever."""
    fake = FakeSlack()
    fake.answer("chat.postMessage", body, status=status, headers=headers)
    with pytest.raises(error_type) as info:
        await make(fake).post_message(channel="C1", text="hi")
    assert isinstance(info.value, RetryableError)
    assert isinstance(info.value, SystemUnavailable) is (status in {429, 503})
    assert info.value.retry_after == retry_after
    if status != 429:
        assert info.value.error == f"http_{status}"


@pytest.mark.anyio
async def test_transport_error_is_unavailable() -> None:
    fake = FakeSlack()
    fake.answer("chat.postMessage", httpx.ReadTimeout("slow"))
    with pytest.raises(SlackUnavailable):
        await make(fake).post_message(channel="C1", text="hi")


def history(*messages: dict[str, Any], cursor: str = "") -> dict[str, Any]:
    return {
        "ok": True,
        "messages": list(messages),
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


def msg(ts: str, event_type: str | None = None, **payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "message", "ts": ts, "text": "t"}
    if event_type is not None:
        body["metadata"] = {"event_type": event_type, "event_payload": payload}
    return body


@pytest.mark.anyio
async def test_find_message_by_metadata_pages_until_found() -> None:
    fake = FakeSlack()
    fake.answer(
        "conversations.history",
        history(msg("3.0"), msg("2.0", "invoice_posted", invoice="999"), cursor="abc"),
    )
    fake.answer(
        "conversations.history",
        history(msg("1.5", "other", invoice="123"), msg("1.0", "invoice_posted", invoice="123")),
    )
    found = await make(fake).find_message_by_metadata(
        channel_id="C1", event_type="invoice_posted", key="invoice", value="123", oldest="0.5"
    )
    assert found == PostedMessage(channel="C1", ts="1.0")
    first, second = (dict(r.url.params) for r in fake.requests)
    assert first["include_all_metadata"] == "true"
    assert first["channel"] == "C1"
    assert first["oldest"] == "0.5"
    assert "cursor" not in first
    assert second["cursor"] == "abc"


@pytest.mark.anyio
async def test_find_message_by_metadata_none_when_absent() -> None:
    fake = FakeSlack()
    fake.answer("conversations.history", history(msg("1.0", "invoice_posted", invoice="1")))
    found = await make(fake).find_message_by_metadata(
        channel_id="C1", event_type="invoice_posted", key="invoice", value="2"
    )
    assert found is None
    assert len(fake.requests) == 1


@pytest.mark.anyio
async def test_find_message_by_metadata_matches_non_string_payload_values() -> None:
    fake = FakeSlack()
    fake.answer("conversations.history", history(msg("4.0", "invoice_posted", invoice=42)))
    found = await make(fake).find_message_by_metadata(
        channel_id="C1", event_type="invoice_posted", key="invoice", value="42"
    )
    assert found is not None
    assert found.ts == "4.0"


@pytest.mark.anyio
async def test_lookup_user_by_email_found() -> None:
    fake = FakeSlack()
    fake.answer(
        "users.lookupByEmail",
        {
            "ok": True,
            "user": {"id": "U1", "team_id": "T1", "name": "kari", "profile": {"email": "k@x.no"}},
        },
    )
    user = await make(fake).lookup_user_by_email("k@x.no")
    assert user is not None
    assert (user.id, user.email) == ("U1", "k@x.no")
    assert fake.requests[0].url.params["email"] == "k@x.no"
    assert fake.requests[0].method == "GET"


@pytest.mark.parametrize("code", ["users_not_found", "user_not_found"])
@pytest.mark.anyio
async def test_lookup_user_by_email_not_found_is_none(code: str) -> None:
    fake = FakeSlack()
    fake.answer("users.lookupByEmail", {"ok": False, "error": code})
    assert await make(fake).lookup_user_by_email("nobody@x.no") is None


@pytest.mark.anyio
async def test_lookup_user_by_email_other_errors_raise() -> None:
    fake = FakeSlack()
    fake.answer("users.lookupByEmail", {"ok": False, "error": "missing_scope"})
    with pytest.raises(SlackCredentialError):
        await make(fake).lookup_user_by_email("k@x.no")


def test_token_never_in_repr_or_str() -> None:
    client = make(FakeSlack())
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
    assert "slack.test" in repr(client)


@pytest.mark.anyio
async def test_find_message_in_a_thread_reads_conversations_replies() -> None:
    fake = FakeSlack()
    fake.answer(
        "conversations.replies",
        history(msg("1.0"), msg("1.5", "invoice_posted", invoice="7"), cursor=""),
    )
    found = await make(fake).find_message_by_metadata(
        channel_id="C1", event_type="invoice_posted", key="invoice", value="7",
        oldest="0.5", thread_ts="1.0",
    )  # fmt: skip
    assert found == PostedMessage(channel="C1", ts="1.5")
    [request] = fake.requests
    assert request.url.path.endswith("/conversations.replies")
    params = dict(request.url.params)
    assert (params["channel"], params["ts"], params["oldest"]) == ("C1", "1.0", "0.5")
    assert params["include_all_metadata"] == "true"


@pytest.mark.anyio
async def test_channel_id_pages_conversations_list_until_the_name_is_found() -> None:
    fake = FakeSlack()
    fake.answer(
        "conversations.list",
        {"ok": True, "channels": [{"id": "C1", "name": "general"}],
         "response_metadata": {"next_cursor": "next"}},
    )  # fmt: skip
    fake.answer(
        "conversations.list",
        {"ok": True, "channels": [{"id": "C2", "name": "ap"}],
         "response_metadata": {"next_cursor": ""}},
    )  # fmt: skip
    client = make(fake)
    assert await client.channel_id("#ap") == "C2"
    assert dict(fake.requests[1].url.params)["cursor"] == "next"
    fake.answer("conversations.list", {"ok": True, "channels": []})
    assert await client.channel_id("nowhere") is None


@pytest.mark.anyio
async def test_update_message_sends_chat_update_by_channel_id_and_ts() -> None:
    fake = FakeSlack()
    fake.answer(
        "chat.update", {"ok": True, "channel": "C1", "ts": "1.5", "text": "t", "message": {}}
    )
    metadata = MessageMetadata(event_type="e", event_payload={"command_id": "c2"})
    updated = await make(fake).update_message(
        channel_id="C1", ts="1.5", text="t", metadata=metadata
    )
    assert updated == PostedMessage(channel="C1", ts="1.5")
    body = json.loads(fake.requests[0].content)
    assert body == {
        "channel": "C1", "ts": "1.5", "text": "t", "blocks": [],
        "metadata": {"event_type": "e", "event_payload": {"command_id": "c2"}},
    }  # fmt: skip
