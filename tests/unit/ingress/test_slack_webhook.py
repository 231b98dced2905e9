"""POST /webhooks/slack in process: verify, answer, store once, and only then acknowledge.

Kafka is a fake sender that records what it was given (or fails, or waits on a gate), so
each answer can be checked against what the route tried to store.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fake_sender import FakeSender
from prometheus_client import REGISTRY
from pydantic import SecretStr
from slack_kit import (
    CHANNEL,
    PARENT_TS,
    SECRET,
    TEAM,
    FixedClock,
    envelope,
    reaction,
    signature_of,
    signed_headers,
    thread_reply,
)

from chassis.kafka.producer import ProduceError
from chassis.serde import AvroSerde, SchemaCatalog
from events.slack_events import SlackEventReceived

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())


@dataclass
class Ingress:
    http: httpx.AsyncClient
    sender: FakeSender

    async def post(self, body: bytes, headers: Any) -> httpx.Response:
        return await self.http.post("/webhooks/slack", content=body, headers=headers)

    async def deliver(self, body: bytes, **signing: Any) -> httpx.Response:
        return await self.post(body, signed_headers(body, **signing))

    def stored(self) -> list[SlackEventReceived]:
        decoded = [SERDE.decode(s.value) for s in self.sender.sent]
        assert {name for name, _ in decoded} <= {SlackEventReceived.SCHEMA}
        return [SlackEventReceived.from_record(record) for _, record in decoded]


@pytest.fixture
def make_ingress(ingress_client: Callable[..., httpx.AsyncClient]) -> Callable[..., Ingress]:
    def make(sender: FakeSender | None = None, **settings: Any) -> Ingress:
        settings.setdefault("slack_signing_secret", SecretStr(SECRET))
        sender = sender or FakeSender()
        return Ingress(ingress_client(sender, **settings), sender)

    return make


@pytest.fixture
async def ingress(make_ingress: Callable[..., Ingress]) -> Ingress:
    return make_ingress()


def counted(outcome: str) -> float:
    labels = {"source": "slack", "outcome": outcome}
    return REGISTRY.get_sample_value("mlc_ingress_webhooks_total", labels) or 0.0


# ---- what is stored ---------------------------------------------------------------------------


async def test_a_reaction_is_stored_then_acknowledged(ingress: Ingress) -> None:
    response = await ingress.deliver(envelope(reaction(), event_id="EvR1"))

    assert response.status_code == 200
    assert response.json() == {"ok": True, "event_id": "EvR1", "duplicate": False}
    [sent] = ingress.sender.sent
    assert sent.topic == "slack.event.v1"
    assert sent.key == f"{TEAM}/{CHANNEL}/{PARENT_TS}"
    [event] = ingress.stored()
    assert (event.event_id, event.team_id, event.event_type) == ("EvR1", TEAM, "reaction_added")
    assert (event.channel, event.message_ts, event.event_ts) == (
        CHANNEL,
        PARENT_TS,
        "1772445660.000200",
    )
    assert (event.user, event.reaction, event.text) == ("U0APPROVER", "white_check_mark", None)
    assert event.event_time.timestamp() == 1772445660
    assert event.retry_num == 0


async def test_a_thread_reply_is_stored_about_the_threads_parent(ingress: Ingress) -> None:
    response = await ingress.deliver(envelope(thread_reply(text="approve please"), event_id="EvT"))

    assert response.status_code == 200
    [event] = ingress.stored()
    assert (event.event_type, event.message_ts, event.text) == (
        "message",
        PARENT_TS,
        "approve please",
    )
    assert (event.reaction, event.event_ts) == (None, "1772445670.000300")
    assert ingress.sender.sent[0].key == f"{TEAM}/{CHANNEL}/{PARENT_TS}"


async def test_a_broadcast_thread_reply_is_still_a_reply(ingress: Ingress) -> None:
    response = await ingress.deliver(envelope(thread_reply() | {"subtype": "thread_broadcast"}))
    assert response.status_code == 200
    assert len(ingress.stored()) == 1


async def test_url_verification_is_answered_with_its_challenge(ingress: Ingress) -> None:
    body = json.dumps(
        {
            "token": "t",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    ).encode()
    response = await ingress.deliver(body)
    assert response.status_code == 200
    assert response.text == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    assert response.headers["content-type"].startswith("text/plain")
    assert ingress.sender.calls == 0


# ---- what is refused ---------------------------------------------------------------------------

BODY = envelope(reaction())
NOW = int(time.time())  # cases are built at import: keep away from the 300 s edge


def _headers(timestamp: bytes | None, signature: bytes | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"Content-Type", b"application/json")]
    if timestamp is not None:
        headers.append((b"X-Slack-Request-Timestamp", timestamp))
    if signature is not None:
        headers.append((b"X-Slack-Signature", signature))
    return headers


def _signed(at: int, *, secret: str = SECRET, body: bytes = BODY) -> list[tuple[bytes, bytes]]:
    return _headers(str(at).encode(), signature_of(body, str(at), secret).encode())


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param(BODY.replace(b"U0APPROVER", b"U0INTRUDER"), _signed(NOW), id="tampered"),
        pytest.param(BODY, _signed(NOW, secret="not-our-secret"), id="wrong-secret"),
        pytest.param(BODY, _signed(NOW - 400), id="stale"),
        pytest.param(BODY, _signed(NOW + 400), id="future"),
        pytest.param(BODY, _headers(None, _signed(NOW)[2][1]), id="missing-timestamp"),
        pytest.param(BODY, _headers(str(NOW).encode(), None), id="missing-signature"),
        pytest.param(BODY, _headers(None, None), id="missing-both"),
        pytest.param(BODY, _headers(str(NOW).encode(), b"v0=\xe9\xe9"), id="non-ascii-signature"),
        pytest.param(
            BODY,
            _headers(str(NOW).encode() + b"\xe9", _signed(NOW)[2][1]),
            id="non-ascii-timestamp",
        ),
        pytest.param(BODY, _headers(b"soon", _signed(NOW)[2][1]), id="timestamp-not-a-number"),
        pytest.param(b'{"x":"\xff"}', _signed(NOW, body=b'{"x":"\xff"}'), id="body-not-utf8"),
    ],
)
async def test_an_unverified_request_is_a_401_and_nothing_is_stored(
    make_ingress: Callable[..., Ingress], body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    # The cases were signed at import; checked against that time, not the clock at run time
    # (a session that runs slower tests first would bring NOW + 400 within 300 s).
    ingress = make_ingress(slack_clock=FixedClock(NOW))
    before = counted("rejected_401")
    response = await ingress.post(body, headers)
    assert response.status_code == 401
    assert response.json()["ok"] is False
    assert ingress.sender.calls == 0
    assert counted("rejected_401") == before + 1


async def test_without_a_signing_secret_nothing_is_accepted(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress(slack_signing_secret=None)
    response = await ingress.deliver(envelope(reaction()))
    assert response.status_code == 503
    assert ingress.sender.calls == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"type": "event_callback", "event_id": ', id="malformed-json"),
        pytest.param(
            b'{"type": "event_callback", "team_id": "T1", "event": {"type": "x"}}', id="no-event-id"
        ),
        pytest.param(b'{"type": "url_verification"}', id="no-challenge"),
        pytest.param(b"[]", id="not-an-object"),
    ],
)
async def test_a_signed_but_unusable_envelope_is_a_400(ingress: Ingress, body: bytes) -> None:
    response = await ingress.deliver(body)
    assert response.status_code == 400
    assert ingress.sender.calls == 0


# ---- what is acknowledged without storing -------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(thread_reply() | {"thread_ts": None}, id="channel-message"),
        pytest.param(thread_reply() | {"ts": PARENT_TS}, id="thread-parent"),
        pytest.param(thread_reply() | {"bot_id": "B0BOT"}, id="bot-reply"),
        pytest.param(thread_reply() | {"subtype": "bot_message"}, id="bot-message"),
        pytest.param(thread_reply() | {"subtype": "message_changed"}, id="edit"),
        pytest.param(reaction() | {"item": {"type": "file", "file": "F1"}}, id="reaction-on-file"),
        pytest.param(reaction() | {"type": "reaction_removed"}, id="reaction-removed"),
        pytest.param({"type": "app_mention", "text": "hi", "channel": CHANNEL}, id="app-mention"),
    ],
)
async def test_an_event_the_connector_does_not_act_on_is_counted_not_stored(
    ingress: Ingress, event: dict[str, Any]
) -> None:
    before = counted("ignored")
    response = await ingress.deliver(envelope(event))
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert "ignored" in response.json()
    assert ingress.sender.calls == 0
    assert counted("ignored") == before + 1


async def test_an_envelope_of_another_type_is_acknowledged_not_stored(ingress: Ingress) -> None:
    body = json.dumps({"type": "app_rate_limited", "team_id": TEAM, "minute_rate_limited": 1})
    response = await ingress.deliver(body.encode())
    assert response.status_code == 200
    assert ingress.sender.calls == 0


# ---- retries --------------------------------------------------------------------------------


async def test_slacks_retries_of_a_stored_event_are_acknowledged_without_a_second_record(
    ingress: Ingress,
) -> None:
    body = envelope(reaction(), event_id="EvRetry")
    first = await ingress.deliver(body)
    retries = [await ingress.deliver(body, retry_num=n) for n in (1, 2, 3)]
    other = await ingress.deliver(envelope(reaction(), event_id="EvOther"), retry_num=1)

    assert [r.status_code for r in (first, *retries, other)] == [200] * 5
    assert first.json()["duplicate"] is False
    assert [r.json()["duplicate"] for r in retries] == [True, True, True]
    assert [e.event_id for e in ingress.stored()] == ["EvRetry", "EvOther"]
    assert ingress.stored()[1].retry_num == 1


async def test_a_retry_arriving_while_the_first_write_is_in_flight_shares_it(
    make_ingress: Callable[..., Ingress],
) -> None:
    gate = asyncio.Event()
    ingress = make_ingress(FakeSender(behaviour=gate.wait))
    body = envelope(reaction(), event_id="EvRace")

    first = asyncio.create_task(ingress.deliver(body))
    retry = asyncio.create_task(ingress.deliver(body, retry_num=1))
    async with asyncio.timeout(10):
        await ingress.sender.called.wait()  # the first write has started
        gate.set()
        responses = await asyncio.gather(first, retry)

    assert [r.status_code for r in responses] == [200, 200]
    assert sorted(r.json()["duplicate"] for r in responses) == [False, True]
    assert ingress.sender.calls == 1
    assert len(ingress.sender.sent) == 1


async def test_a_failed_write_is_not_acknowledged_and_its_retry_is_stored(
    make_ingress: Callable[..., Ingress],
) -> None:
    failures = [ProduceError("broker said no")]

    async def fail_once() -> None:
        if failures:
            raise failures.pop()

    ingress = make_ingress(FakeSender(behaviour=fail_once))
    body = envelope(reaction(), event_id="EvFail")

    refused = await ingress.deliver(body)
    retried = await ingress.deliver(body, retry_num=1)

    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert retried.status_code == 200
    assert retried.json()["duplicate"] is False
    assert [e.retry_num for e in ingress.stored()] == [1]


async def test_a_write_slower_than_the_ack_timeout_is_a_503_and_its_late_success_counts(
    make_ingress: Callable[..., Ingress],
) -> None:
    gate = asyncio.Event()
    ingress = make_ingress(FakeSender(behaviour=gate.wait), ack_timeout_seconds=0.2)
    body = envelope(reaction(), event_id="EvSlow")

    async with asyncio.timeout(10):
        slow = await ingress.deliver(body)
        assert slow.status_code == 503
        assert ingress.sender.sent == []
        gate.set()  # Kafka confirms the write after the route gave up on it
        await ingress.sender.recorded.wait()
        retry = await ingress.deliver(body, retry_num=1)

    assert retry.status_code == 200
    assert retry.json()["duplicate"] is True
    assert ingress.sender.calls == 1
