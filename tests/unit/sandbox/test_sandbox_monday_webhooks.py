"""The monday sandbox's webhooks: challenge handshake, JWT-signed events, retries, drops.

The receiver is an ``httpx.MockTransport``; the JWT is checked with pyjwt as the ingress
will (signature, ``aud``, ``exp``). Retries wait sandbox minutes on a fast clock.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from monday_kit import BOARD, CHANGE, create, gql, post
from sandbox_kit import START

from sandbox import SandboxConfig, create_app
from sandbox.monday.config import DEMO_SIGNING_SECRET

pytestmark = pytest.mark.anyio

HOOK_URL = "https://connector.example/webhooks/monday"

CREATE_WEBHOOK = """
mutation ($board: ID!, $url: String!, $config: JSON) {
  create_webhook(board_id: $board, url: $url, event: change_specific_column_value,
                 config: $config) { id board_id event config }
}"""


@dataclass
class Receiver:
    """Echoes challenges; answers events with the next status in ``answers`` (then 200)."""

    answers: list[int] = field(default_factory=list)
    echo: bool = True
    events: list[httpx.Request] = field(default_factory=list)
    challenges: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if "challenge" in body:
            self.challenges += 1
            return httpx.Response(200, json=body if self.echo else {"ok": True})
        self.events.append(request)
        return httpx.Response(self.answers.pop(0) if self.answers else 200)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content)["event"] for r in self.events]


@dataclass
class Rig:
    client: httpx.AsyncClient
    receiver: Receiver

    async def hook(self, event: str = "change_status_column_value", **extra: Any) -> Any:
        body = {"board_id": BOARD, "url": HOOK_URL, "event": event, **extra}
        return await self.client.post("/monday/_sandbox/webhooks", json=body)

    async def change(self, item_id: str, column_id: str, value: Any) -> httpx.Response:
        url = f"/monday/_sandbox/boards/{BOARD}/items/{item_id}/change"
        return await self.client.post(url, json={"column_id": column_id, "value": value})

    async def drain(self) -> dict[str, int]:
        response = await self.client.post("/monday/_sandbox/webhooks/drain")
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture
async def rig(make_client: Callable[[FastAPI], httpx.AsyncClient]) -> AsyncIterator[Rig]:
    receiver = Receiver()
    config = SandboxConfig.model_validate({"clock_speed": 6000, "clock_start": START})
    hooks = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    async with hooks, make_client(create_app(config, webhook_client=hooks)) as client:
        yield Rig(client, receiver)


async def test_create_webhook_verifies_the_url_with_a_challenge(rig: Rig) -> None:
    config = {"columnId": "status_receipt"}
    data = await gql(
        rig.client, CREATE_WEBHOOK, {"board": BOARD, "url": HOOK_URL, "config": config}
    )
    hook = data["create_webhook"]
    assert hook["board_id"] == BOARD
    assert hook["event"] == "change_specific_column_value"
    assert json.loads(hook["config"]) == config
    assert rig.receiver.challenges == 1


async def test_a_url_that_does_not_echo_the_challenge_is_not_registered(rig: Rig) -> None:
    rig.receiver.echo = False
    response = await post(rig.client, CREATE_WEBHOOK, {"board": BOARD, "url": HOOK_URL})
    assert response.json()["errors"][0]["extensions"]["code"] == "WebhookChallengeFailed"
    listed = (await rig.client.get("/monday/_sandbox/webhooks")).json()
    assert listed["webhooks"] == []


async def test_a_warehouse_status_change_is_posted_with_a_signed_jwt(rig: Rig) -> None:
    item_id = await create(rig.client, "PO 42", {"status_receipt": {"label": "Pending"}})
    assert (await rig.hook()).is_success
    changed = await rig.change(item_id, "status_receipt", {"label": "Received"})
    assert changed.json()["status_receipt"] == "Received"
    assert (await rig.drain())["delivered"] == 1
    (request,) = rig.receiver.events
    claims = jwt.decode(
        request.headers["Authorization"],
        DEMO_SIGNING_SECRET,
        algorithms=["HS256"],
        audience=HOOK_URL,
        options={"require": ["exp", "iat", "aud"]},
    )
    assert claims["exp"] - claims["iat"] == 60
    (event,) = rig.receiver.bodies()
    assert event["type"] == "update_column_value"
    assert (event["boardId"], event["pulseId"]) == (int(BOARD), int(item_id))
    assert event["columnId"] == "status_receipt"
    assert event["value"]["label"] == {"index": 1, "text": "Received"}
    assert event["previousValue"]["label"]["text"] == "Pending"


async def test_the_jwt_fails_with_another_audience_secret_or_once_expired(rig: Rig) -> None:
    item_id = await create(rig.client, "PO 43", {})
    await rig.hook()
    await rig.change(item_id, "status_receipt", "Received")
    await rig.drain()
    token = rig.receiver.events[0].headers["Authorization"]
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, DEMO_SIGNING_SECRET, algorithms=["HS256"], audience="https://other")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token, "a-forged-secret-of-thirty-two-bytes!", algorithms=["HS256"], audience=HOOK_URL
        )
    with pytest.raises(jwt.ExpiredSignatureError):  # as checked 61 seconds from now
        jwt.decode(
            token,
            DEMO_SIGNING_SECRET,
            algorithms=["HS256"],
            audience=HOOK_URL,
            leeway=timedelta(seconds=-61),
            options={"verify_iat": False},
        )


async def test_events_follow_the_webhook_kind(rig: Rig) -> None:
    item_id = await create(rig.client, "INV 1", {})
    await rig.hook("change_specific_column_value", config={"columnId": "text_invoice"})
    await rig.hook("create_item")
    await rig.change(item_id, "status_receipt", "Received")  # no hook wants it
    await gql(
        rig.client, CHANGE, {"board": BOARD, "item": item_id, "values": {"text_invoice": "9"}}
    )
    await create(rig.client, "INV 2", {"text_invoice": "2"})
    await rig.drain()
    kinds = sorted((e["type"], e.get("columnId", "")) for e in rig.receiver.bodies())
    assert kinds == [("create_pulse", ""), ("update_column_value", "text_invoice")]
    created = next(e for e in rig.receiver.bodies() if e["type"] == "create_pulse")
    assert created["columnValues"] == {"text_invoice": {"value": "2"}}


async def test_a_failed_delivery_is_retried_each_sandbox_minute(rig: Rig) -> None:
    item_id = await create(rig.client, "PO 44", {})
    await rig.hook()
    rig.receiver.answers = [500, 503]
    await rig.change(item_id, "status_receipt", "Received")
    stats = await rig.drain()
    assert (stats["attempts"], stats["delivered"]) == (3, 1)
    assert len(rig.receiver.events) == 3


async def test_dropped_webhooks_never_arrive(rig: Rig) -> None:
    item_id = await create(rig.client, "PO 45", {})
    await rig.hook()
    switched = await rig.client.patch("/monday/_sandbox/webhooks", json={"drop": True})
    assert switched.json() == {"drop": True}
    await rig.change(item_id, "status_receipt", "Received")
    stats = await rig.drain()
    assert stats == {"dropped": 1}
    assert rig.receiver.events == []
    items = (await rig.client.get(f"/monday/_sandbox/boards/{BOARD}/items")).json()
    assert items[0]["values"]["status_receipt"] == "Received"
