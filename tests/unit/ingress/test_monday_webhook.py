"""The monday webhook route in process: challenge, JWT, parsing, and acknowledging once stored.

The Kafka side is a fake sender that records what it was given (or fails), so every answer
the route gives can be checked against what it tried to store. The last tests put the monday
sandbox in front of the ingress: its webhooks (challenge, JWT, retries) reach the route as
monday's would.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from fake_sender import FakeSender
from pydantic import SecretStr

from chassis.kafka.producer import ProduceError
from chassis.serde import AvroSerde, SchemaCatalog
from events.monday import MondayColumnChanged
from ingress.monday import value_text

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SECRET = "monday-app-signing-secret-for-tests"
URL = "https://connector.example/webhooks/monday"
SERDE = AvroSerde(SchemaCatalog.load())


def token(
    *, audience: str = URL + "?tenant=acme", secret: str = SECRET, expires_in: float = 60
) -> str:
    now = int(time.time())
    claims = {"accountId": 9000001, "userId": 1, "aud": audience, "iat": now,
              "exp": now + expires_in, "shortLivedToken": "short"}  # fmt: skip
    return jwt.encode(claims, secret, algorithm="HS256")


def status_change(**overrides: Any) -> dict[str, Any]:
    event = {
        "app": "monday", "type": "update_column_value", "userId": 1,
        "originalTriggerUuid": None, "boardId": 1000000001, "pulseId": 1000000042,
        "pulseName": "PO 42", "groupId": "topics", "columnId": "status_receipt",
        "columnType": "status", "columnTitle": "Receipt",
        "value": {"label": {"index": 1, "text": "Received"}, "post_id": None},
        "previousValue": {"label": {"index": 0, "text": "Pending"}, "post_id": None},
        "changedAt": 1772443800.5, "isTopGroup": True, "subscriptionId": 500000001,
        "triggerUuid": uuid.uuid4().hex, "triggerTime": "2026-03-02T09:30:00+00:00",
    }  # fmt: skip
    return {"event": event | overrides}


@dataclass
class Ingress:
    http: httpx.AsyncClient
    sender: FakeSender

    async def post(
        self, body: object, *, jwt_token: str | None = None, query: str = "?tenant=acme"
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if jwt_token is not None:
            headers["Authorization"] = jwt_token
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.http.post(f"/webhooks/monday{query}", content=content, headers=headers)

    def stored(self) -> list[MondayColumnChanged]:
        changes = []
        for sent in self.sender.sent:
            name, record = SERDE.decode(sent.value)
            assert name == MondayColumnChanged.SCHEMA
            changes.append(MondayColumnChanged.from_record(record))
        return changes


@pytest.fixture
def make_ingress(ingress_client: Callable[..., httpx.AsyncClient]) -> Callable[..., Ingress]:
    def make(sender: FakeSender | None = None, **settings: Any) -> Ingress:
        settings.setdefault("monday_signing_secret", SecretStr(SECRET))
        settings.setdefault("monday_webhook_url", URL)
        sender = sender or FakeSender()
        return Ingress(ingress_client(sender, **settings), sender)

    return make


@pytest.fixture
def ingress(make_ingress: Callable[..., Ingress]) -> Ingress:
    return make_ingress()


async def test_the_registration_challenge_is_echoed(ingress: Ingress) -> None:
    response = await ingress.post(
        {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    )

    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert ingress.sender.sent == []


async def test_a_signed_status_change_is_stored_once_then_acknowledged(ingress: Ingress) -> None:
    body = status_change()

    response = await ingress.post(body, jwt_token=token())

    assert response.status_code == 200
    assert response.json()["duplicate"] is False
    [sent] = ingress.sender.sent
    assert (sent.topic, sent.key) == ("monday.column-change.v1", "1000000001/1000000042")
    [change] = ingress.stored()
    assert (change.tenant_id, change.account_id, change.source) == ("acme", "9000001", "webhook")
    assert (change.board_id, change.item_id) == ("1000000001", "1000000042")
    assert (change.column_id, change.column_title, change.column_type) == (
        "status_receipt", "Receipt", "status")  # fmt: skip
    assert (change.value_text, change.previous_text) == ("Received", "Pending")
    assert change.changed_at == datetime.fromtimestamp(1772443800.5, UTC)
    assert change.trigger_uuid == body["event"]["triggerUuid"]
    assert change.visma_id is None


async def test_a_retried_trigger_is_acknowledged_and_stored_once(ingress: Ingress) -> None:
    body = status_change()

    first = await ingress.post(body, jwt_token=token())
    retry = await ingress.post(body, jwt_token=token())  # monday signs each attempt anew

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json()["duplicate"] is True
    assert len(ingress.sender.sent) == 1


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda: None, "missing Authorization JWT"),
        (lambda: token(secret="a-forged-secret-of-thirty-two-bytes!"), "bad Authorization JWT"),
        (lambda: token(expires_in=-60), "expired Authorization JWT"),
        (
            lambda: token(audience="https://attacker.example/webhooks/monday?tenant=acme"),
            "Authorization JWT for another URL",
        ),
        (lambda: token(audience=URL), "Authorization JWT for another URL"),  # signed for no tenant
        (lambda: "not.a.jwt", "bad Authorization JWT"),
        (lambda: "x" * 5000, "bad Authorization JWT"),
        (
            lambda: jwt.encode({"aud": URL + "?tenant=acme"}, SECRET, algorithm="HS256"),
            "bad Authorization JWT",
        ),  # no exp: a token that never expires is refused
    ],
    ids=["missing", "forged", "expired", "other-url", "other-tenant", "garbage", "huge", "no-exp"],
)
async def test_a_bad_jwt_is_refused_with_401_and_nothing_stored(
    ingress: Ingress, make_token: Callable[[], str | None], reason: str
) -> None:
    """Tokens are signed when the test runs: made at collection, a 60-second token could
    expire before a loaded 4-worker run reached it, and the 'other URL' case read 'expired'."""
    response = await ingress.post(status_change(), jwt_token=make_token())

    assert response.status_code == 401
    assert response.json()["error"] == reason
    assert ingress.sender.calls == 0


async def test_a_jwt_signed_with_none_is_refused(ingress: Ingress) -> None:
    unsigned = jwt.encode(
        {"aud": URL + "?tenant=acme", "exp": int(time.time()) + 60}, None, algorithm="none"
    )

    response = await ingress.post(status_change(), jwt_token=unsigned)

    assert response.status_code == 401
    assert ingress.sender.calls == 0


async def test_without_a_signing_secret_unsigned_webhooks_are_taken(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress(monday_signing_secret=None, monday_default_tenant="solo")

    response = await ingress.post(status_change(), query="")

    assert response.status_code == 200
    [change] = ingress.stored()
    assert (change.tenant_id, change.account_id) == ("solo", None)


async def test_a_secret_without_the_public_url_answers_503(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress(monday_webhook_url=None)

    response = await ingress.post(status_change(), jwt_token=token())

    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert ingress.sender.calls == 0


async def test_another_kind_of_event_is_acknowledged_and_not_stored(ingress: Ingress) -> None:
    created = {"event": {"type": "create_pulse", "boardId": 1000000001, "pulseId": 1000000043,
                         "columnValues": {}, "triggerUuid": uuid.uuid4().hex}}  # fmt: skip

    response = await ingress.post(created, jwt_token=token())

    assert response.status_code == 200
    assert response.json() == {"ok": True, "stored": False}
    assert ingress.sender.calls == 0


@pytest.mark.parametrize(
    ("body", "query", "where"),
    [
        (status_change(columnId="c" * 300), "?tenant=acme", "event.columnId"),
        (status_change(boardId="board-one"), "?tenant=acme", "event.boardId"),
        (status_change(pulseId=-4), "?tenant=acme", "event.pulseId"),
        (status_change(changedAt=1e300), "?tenant=acme", "event.changedAt"),
        (status_change(triggerUuid=""), "?tenant=acme", "event.triggerUuid"),
        (status_change(columnId=None), "?tenant=acme", "event"),
        ({"evnt": {}}, "?tenant=acme", "event"),
        (b"{not json", "?tenant=acme", "body"),
        (status_change(), "?tenant=" + "t" * 300, "tenant"),
        (status_change(), "?other=1", "no tenant"),
    ],
    ids=[
        "long-column",
        "board-text",
        "negative-item",
        "far-future",
        "empty-trigger",
        "no-column",
        "no-event",
        "not-json",
        "long-tenant",
        "no-tenant",
    ],
)
async def test_a_malformed_body_or_tenant_is_a_400_naming_the_field(
    make_ingress: Callable[..., Ingress], body: Any, query: str, where: str
) -> None:
    ingress = make_ingress(monday_signing_secret=None)

    response = await ingress.post(body, query=query)

    assert response.status_code == 400
    assert response.json()["error"].startswith(where)
    assert ingress.sender.calls == 0


async def test_kafka_not_confirming_answers_503_so_monday_retries(
    make_ingress: Callable[..., Ingress],
) -> None:
    async def refuse() -> None:
        raise ProduceError("broker unreachable")

    ingress = make_ingress(FakeSender(behaviour=refuse))
    body = status_change()

    refused = await ingress.post(body, jwt_token=token())
    ingress.sender.behaviour = None
    retried = await ingress.post(body, jwt_token=token())

    assert refused.status_code == 503
    assert retried.status_code == 200
    assert retried.json()["duplicate"] is False
    assert len(ingress.sender.sent) == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"label": {"index": 1, "text": "Received"}, "post_id": None}, "Received"),
        ({"value": "INV-7"}, "INV-7"),
        ({"value": 42.5}, "42.5"),
        ({"date": "2026-03-31"}, "2026-03-31"),
        ({"date": "2026-03-31", "time": "10:00:00"}, "2026-03-31 10:00:00"),
        ({"url": "https://x.example", "text": "PO"}, "PO"),
        ({"chosenValues": [{"id": 1, "name": "Ops"}, {"id": 2, "name": "Sales"}]}, "Ops, Sales"),
        ({"email": "a@b.example", "text": "A"}, "A"),
        ({"label": {"index": 5, "text": ""}}, None),
        (None, None),
        ({}, None),
        ({"value": "x" * 5000}, "x" * 2000),
        ({"checked": "true"}, '{"checked":"true"}'),
    ],
)
def test_a_cell_value_becomes_the_text_a_person_reads(
    value: dict[str, Any] | None, text: str | None
) -> None:
    assert value_text(value) == text
