from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from sandbox_kit import SLACK_AUTH, frozen_config
from slack_sdk.signature import SignatureVerifier

from sandbox import SandboxClock, create_app
from sandbox.config import SlackEventsConfig
from sandbox.slack.events import EventDelivery

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SECRET = "test-signing-secret"
EVENTS_URL = "http://receiver/slack/events"
ADMIN = "/slack/_sandbox"
Reply = Callable[[httpx.Request], Awaitable[httpx.Response]]


@dataclass
class Receiver:
    """Records every callback; answers with the queued replies, then 200."""

    requests: list[httpx.Request] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.replies:
            return await self.replies.pop(0)(request)
        return httpx.Response(200)

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(r.content) for r in self.requests]

    def retry_headers(self) -> list[tuple[str | None, str | None]]:
        return [
            (r.headers.get("X-Slack-Retry-Num"), r.headers.get("X-Slack-Retry-Reason"))
            for r in self.requests
        ]


def status(code: int, **headers: str) -> Reply:
    async def reply(_: httpx.Request) -> httpx.Response:
        return httpx.Response(code, headers=headers)

    return reply


def failing(exc: type[httpx.TransportError]) -> Reply:
    async def reply(request: httpx.Request) -> httpx.Response:
        raise exc("receiver down", request=request)

    return reply


async def never_answers(_: httpx.Request) -> httpx.Response:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


@dataclass
class Rig:
    client: httpx.AsyncClient
    receiver: Receiver


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    receiver = Receiver()
    config = frozen_config()
    config.slack.events = SlackEventsConfig(
        url=EVENTS_URL,
        signing_secret=SECRET,  # type: ignore[arg-type]
        retry_delays_seconds=[0, 0, 0],
        ack_timeout_seconds=0.2,
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as callbacks:
        app = create_app(config, webhook_client=callbacks)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            yield Rig(client, receiver)


async def _bot_message(client: httpx.AsyncClient, **extra: object) -> dict[str, object]:
    body = {"channel": "ap-approvals", "text": "Approve invoice 100001?", **extra}
    response = await client.post("/slack/api/chat.postMessage", json=body, headers=SLACK_AUTH)
    assert response.json()["ok"] is True, response.text
    data: dict[str, object] = response.json()
    return data


async def _react(rig: Rig, ts: object, **extra: object) -> dict[str, object]:
    body = {"user": "cfo@nordic-demo.example", "channel": "ap-approvals", "ts": ts}
    response = await rig.client.post(
        f"{ADMIN}/reactions", json={"reaction": "white_check_mark", "wait": True, **body, **extra}
    )
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


async def test_reaction_is_delivered_signed_in_an_event_callback(rig: Rig) -> None:
    posted = await _bot_message(rig.client)

    answer = await _react(rig, posted["ts"], reaction=":white_check_mark:")

    assert answer["delivery"] == {
        "event_id": answer["event_id"],
        "result": "delivered",
        "attempts": 1,
    }
    [request] = rig.receiver.requests
    assert SignatureVerifier(SECRET).is_valid(
        request.content,
        request.headers["X-Slack-Request-Timestamp"],
        request.headers["X-Slack-Signature"],
    )
    assert not SignatureVerifier("another-secret").is_valid(
        request.content,
        request.headers["X-Slack-Request-Timestamp"],
        request.headers["X-Slack-Signature"],
    )
    assert rig.receiver.retry_headers() == [(None, None)]
    envelope = json.loads(request.content)
    assert envelope["type"] == "event_callback"
    assert envelope["team_id"] == "T0MLCDEMO"
    assert envelope["event_id"] == answer["event_id"]
    assert {"token", "api_app_id", "event_time", "authorizations"} <= set(envelope)
    event = envelope["event"]
    assert event["type"] == "reaction_added"
    assert event["reaction"] == "white_check_mark"
    assert event["user"] == "U0MLC00002"
    assert event["item"] == {"type": "message", "channel": "C0AP00001", "ts": posted["ts"]}
    assert event["item_user"] == "U0MLCBOT01"
    messages = (await rig.client.get(f"{ADMIN}/messages")).json()
    assert messages[0]["reactions"] == [{"name": "white_check_mark", "users": ["U0MLC00002"]}]


async def test_failed_acks_are_retried_with_numbers_and_reasons(rig: Rig) -> None:
    rig.receiver.replies = [status(500), failing(httpx.ConnectError), never_answers]
    posted = await _bot_message(rig.client)

    answer = await _react(rig, posted["ts"])

    assert answer["delivery"]["result"] == "delivered"  # type: ignore[index]
    assert rig.receiver.retry_headers() == [
        (None, None),
        ("1", "http_error"),
        ("2", "connection_failed"),
        ("3", "http_timeout"),
    ]
    assert len({r.content for r in rig.receiver.requests}) == 1
    for request in rig.receiver.requests:
        assert SignatureVerifier(SECRET).is_valid(
            request.content,
            request.headers["X-Slack-Request-Timestamp"],
            request.headers["X-Slack-Signature"],
        )
    stats = (await rig.client.get(f"{ADMIN}/events/stats")).json()
    assert (stats["delivered"], stats["retried"], stats["failed"]) == (1, 3, 0)
    log = (await rig.client.get(f"{ADMIN}/events/deliveries")).json()
    assert [a["retry_num"] for a in log] == [0, 1, 2, 3]


async def test_gives_up_after_three_retries(rig: Rig) -> None:
    rig.receiver.replies = [status(503)] * 4
    posted = await _bot_message(rig.client)
    answer = await _react(rig, posted["ts"])
    assert answer["delivery"]["result"] == "failed"  # type: ignore[index]
    assert [n for n, _ in rig.receiver.retry_headers()] == [None, "1", "2", "3"]
    stats = (await rig.client.get(f"{ADMIN}/events/stats")).json()
    assert (stats["delivered"], stats["failed"]) == (0, 1)


async def test_no_retry_header_stops_retries(rig: Rig) -> None:
    rig.receiver.replies = [status(500, **{"X-Slack-No-Retry": "1"})]
    posted = await _bot_message(rig.client)
    answer = await _react(rig, posted["ts"])
    assert answer["delivery"]["result"] == "no_retry"  # type: ignore[index]
    assert len(rig.receiver.requests) == 1
    assert (await rig.client.get(f"{ADMIN}/events/stats")).json()["no_retry"] == 1


async def test_duplicate_fault_resends_an_acknowledged_event(rig: Rig) -> None:
    await rig.client.put(f"{ADMIN}/events", json={"duplicate_rate": 1.0})
    posted = await _bot_message(rig.client)
    await _react(rig, posted["ts"])
    first, second = rig.receiver.bodies()
    assert first == second
    assert rig.receiver.retry_headers() == [(None, None), ("1", "http_timeout")]
    assert (await rig.client.get(f"{ADMIN}/events/stats")).json()["duplicated"] == 1


async def test_thread_reply_is_stored_and_delivered(rig: Rig) -> None:
    parent = await _bot_message(rig.client)
    response = await rig.client.post(
        f"{ADMIN}/replies",
        json={
            "user": "U0MLC00001",
            "channel": "C0AP00001",
            "thread_ts": parent["ts"],
            "text": "approved",
            "wait": True,
        },
    )
    assert response.status_code == 201, response.text
    [body] = rig.receiver.bodies()
    event = body["event"]
    assert isinstance(event, dict)
    assert event["type"] == "message"
    assert (event["thread_ts"], event["user"], event["text"]) == (
        parent["ts"],
        "U0MLC00001",
        "approved",
    )
    assert event["ts"] == response.json()["ts"] != parent["ts"]
    assert "bot_id" not in event
    replies = await rig.client.get(
        "/slack/api/conversations.replies",
        params={"channel": "C0AP00001", "ts": parent["ts"]},
        headers=SLACK_AUTH,
    )
    assert [m["text"] for m in replies.json()["messages"]] == [
        "Approve invoice 100001?",
        "approved",
    ]
    history = await rig.client.get(
        "/slack/api/conversations.history", params={"channel": "C0AP00001"}, headers=SLACK_AUTH
    )
    assert [m["ts"] for m in history.json()["messages"]] == [parent["ts"]]


async def test_bot_thread_reply_joins_the_thread(rig: Rig) -> None:
    parent = await _bot_message(rig.client)
    await rig.client.post("/_sandbox/clock", json={"advance_seconds": 2})
    reply = await _bot_message(rig.client, text="Released in Visma", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]  # type: ignore[index]
    replies = await rig.client.get(
        "/slack/api/conversations.replies",
        params={"channel": "C0AP00001", "ts": parent["ts"]},
        headers=SLACK_AUTH,
    )
    assert [m["ts"] for m in replies.json()["messages"]] == [parent["ts"], reply["ts"]]


async def test_human_actions_need_a_known_user_and_message(rig: Rig) -> None:
    posted = await _bot_message(rig.client)
    base = {"channel": "ap-approvals", "reaction": "x"}
    unknown_user = await rig.client.post(
        f"{ADMIN}/reactions", json={**base, "user": "nobody", "ts": posted["ts"]}
    )
    unknown_message = await rig.client.post(
        f"{ADMIN}/reactions", json={**base, "user": "U0MLC00001", "ts": "1.000001"}
    )
    assert (unknown_user.status_code, unknown_message.status_code) == (404, 404)
    twice = {**base, "user": "U0MLC00001", "ts": posted["ts"]}
    assert (await rig.client.post(f"{ADMIN}/reactions", json=twice)).status_code == 201
    assert (await rig.client.post(f"{ADMIN}/reactions", json=twice)).status_code == 409


async def test_events_settings_hide_the_secret_and_know_the_workspace(rig: Rig) -> None:
    changed = await rig.client.put(
        f"{ADMIN}/events", json={"signing_secret": "rotated", "url": "http://elsewhere/x"}
    )
    assert changed.status_code == 200
    assert changed.json()["url"] == "http://elsewhere/x"
    assert "rotated" not in changed.text
    assert changed.json()["signing_secret_set"] is True
    other = await rig.client.put(f"{ADMIN}/events", json={"team_id": "T0OTHER", "url": "x"})
    assert other.status_code == 404
    posted = await _bot_message(rig.client)
    await _react(rig, posted["ts"])
    [request] = rig.receiver.requests
    assert str(request.url) == "http://elsewhere/x"
    assert SignatureVerifier("rotated").is_valid(
        request.content,
        request.headers["X-Slack-Request-Timestamp"],
        request.headers["X-Slack-Signature"],
    )


async def test_without_an_events_url_nothing_is_sent(client: httpx.AsyncClient) -> None:
    posted = await _bot_message(client)
    answer = await client.post(
        f"{ADMIN}/reactions",
        json={"user": "U0MLC00001", "channel": "ap-approvals", "ts": posted["ts"], "reaction": "x"},
    )
    assert answer.status_code == 201
    await client.post(f"{ADMIN}/events/drain")
    assert (await client.get(f"{ADMIN}/events/stats")).json()["skipped_no_url"] == 1


def test_retry_delays_follow_the_sandbox_clock_speed() -> None:
    def delivery(speed: float) -> EventDelivery:
        return EventDelivery(
            SlackEventsConfig(),
            team_id="T",
            bot_user_id="U",
            clock=SandboxClock(speed=speed),
            client=None,
        )

    assert delivery(60)._real_delay(300) == 5
    assert delivery(1)._real_delay(60) == 60
    assert delivery(0)._real_delay(0.5) == 0.5
