"""BILL sandbox webhooks: subscriptions with an idempotency key and a one-time securityKey,
key rotation, events signed over the exact bytes sent, delivery once or with retries until
BILL disables the subscription, re-enabling, and a share of events dropped.

The signature is checked here with the stdlib from BILL's documented recipe,
base64(HMAC-SHA256(securityKey, raw body)), not with the sandbox's own code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from bill_kit import ADMIN, EVENTS_API, ORG, add_bill, add_vendor, error_code, login
from fastapi import FastAPI
from sandbox_kit import START

from sandbox import SandboxConfig, create_app

pytestmark = pytest.mark.anyio

HOOK_URL = "https://connector.example/webhooks/bill"
IDEMPOTENT_KEY = "5f0c2f1e-7a55-4c1b-9a64-3d9c1c0e2b11"
EVENTS = ["vendor.created", "vendor.updated", "bill.created", "bill.updated"]


def subscription_body(**change: Any) -> dict[str, Any]:
    return {
        "name": "ml-connector",
        "status": {"enabled": True},
        "events": [{"type": t, "version": "1"} for t in EVENTS],
        "notificationUrl": HOOK_URL,
        **change,
    }


def documented_signature(key: str, raw: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), raw, hashlib.sha256).digest()).decode()


@dataclass
class Receiver:
    """Answers with the next status in ``answers`` (then ``otherwise``); keeps every request."""

    answers: list[int] = field(default_factory=list)
    otherwise: int = 200
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.answers.pop(0) if self.answers else self.otherwise)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@dataclass
class Rig:
    client: httpx.AsyncClient
    receiver: Receiver
    headers: dict[str, str]

    async def subscribe(self, key: str = IDEMPOTENT_KEY, **change: Any) -> httpx.Response:
        return await self.client.post(
            f"{EVENTS_API}/subscriptions",
            json=subscription_body(**change),
            headers={**self.headers, "X-Idempotent-Key": key},
        )

    async def subscription(self, subscription_id: str) -> dict[str, Any]:
        response = await self.client.get(
            f"{EVENTS_API}/subscriptions/{subscription_id}", headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def drain(self) -> dict[str, int]:
        return (await self.client.post(f"{ADMIN}/webhooks/drain")).json()  # type: ignore[no-any-return]

    async def switch(self, **settings: Any) -> None:
        response = await self.client.patch(f"{ADMIN}/webhooks", json=settings)
        assert response.status_code == 200, response.text


@pytest.fixture
async def rig(make_client: Callable[[FastAPI], httpx.AsyncClient]) -> AsyncIterator[Rig]:
    # A fast clock: retry delays of sandbox minutes pass in milliseconds.
    receiver = Receiver()
    config = SandboxConfig.model_validate(
        {
            "clock_speed": 6000,
            "clock_start": START,
            "bill": {
                # sessions outlive the fast clock: a loaded machine must not expire them
                "session_idle_seconds": 10**9,
                "webhooks": {"retry_delays_seconds": [60, 120, 240]},
            },
        }
    )
    hooks = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    async with hooks, make_client(create_app(config, webhook_client=hooks)) as client:
        yield Rig(client, receiver, await login(client))


async def test_a_subscription_returns_its_security_key_once(rig: Rig) -> None:
    missing_key = await rig.client.post(
        f"{EVENTS_API}/subscriptions", json=subscription_body(), headers=rig.headers
    )
    assert (missing_key.status_code, error_code(missing_key)) == (400, "BDC_1001")
    created = await rig.subscribe()
    assert created.status_code == 201
    body = created.json()
    assert body["organizationId"] == ORG
    assert body["status"] == {"enabled": True}
    assert len(body["securityKey"]) >= 32
    replay = await rig.subscribe()
    assert replay.status_code == 200
    assert replay.json()["id"] == body["id"]
    assert "securityKey" not in replay.json()
    reused = await rig.subscribe(name="something else")
    assert error_code(reused) == "BDC_1001"
    listed = await rig.client.get(f"{EVENTS_API}/subscriptions", headers=rig.headers)
    assert [s["id"] for s in listed.json()] == [body["id"]]
    assert "securityKey" not in json.dumps(listed.json())
    admin = await rig.client.get(f"{ADMIN}/webhooks")
    assert body["securityKey"] not in admin.text
    assert "securityKey" not in await rig.subscription(body["id"])
    not_a_uuid = await rig.subscribe("idem-1")
    assert error_code(not_a_uuid) == "BDC_1001"
    unknown = await rig.subscribe(
        str(uuid.uuid4()), events=[{"type": "invoice.paid", "version": "1"}]
    )
    assert error_code(unknown) == "BDC_1001"
    catalog = await rig.client.get(f"{EVENTS_API}/events/catalog", headers=rig.headers)
    assert {"type": "bill.updated", "version": "1"} in catalog.json()


async def test_events_are_signed_over_the_exact_bytes_sent(rig: Rig) -> None:
    key = (await rig.subscribe()).json()["securityKey"]
    vendor = await add_vendor(rig.client, "Kystlys Tømrer A/S", taxId="DK12345678")
    bill = await add_bill(rig.client, vendor["id"], "INV-9", 40.0, 60.0)
    await rig.client.patch(
        f"{ADMIN}/organizations/{ORG}/bills/{bill['id']}", json={"dueDate": "2026-04-30"}
    )
    await rig.client.post(
        f"{ADMIN}/organizations/{ORG}/bills/{bill['id']}/archive"
    )  # not subscribed
    await rig.drain()
    requests = rig.receiver.requests
    assert [json.loads(r.content)["metadata"]["eventType"] for r in requests] == [
        "vendor.created",
        "bill.created",
        "bill.updated",
    ]
    for request in requests:
        assert request.url == HOOK_URL
        assert request.headers["x-bill-sha-signature"] == documented_signature(key, request.content)
        assert b": " not in request.content
        assert b", " not in request.content
    assert "Tømrer".encode() in requests[0].content  # UTF-8 as sent, not \u escapes
    bodies = rig.receiver.bodies()
    assert len({b["metadata"]["eventId"] for b in bodies}) == 3
    assert bodies[0]["metadata"]["organizationId"] == ORG
    assert bodies[0]["vendor"]["taxId"] == "DK12345678"
    updated = bodies[2]["bill"]
    assert (updated["id"], updated["dueDate"], updated["amount"]) == (
        bill["id"],
        "2026-04-30",
        100.0,
    )
    assert updated["billLineItems"][0]["classifications"]["departmentId"] == "0de01CC10"


async def test_a_rotated_key_signs_every_later_delivery(rig: Rig) -> None:
    created = (await rig.subscribe()).json()
    old_key = created["securityKey"]
    rotated = await rig.client.post(
        f"{EVENTS_API}/subscriptions/{created['id']}/security-key", headers=rig.headers
    )
    new_key = rotated.json()["securityKey"]
    assert new_key != old_key
    await add_vendor(rig.client, "After Rotation ApS")
    await rig.drain()
    (request,) = rig.receiver.requests
    signature = request.headers["x-bill-sha-signature"]
    assert signature == documented_signature(new_key, request.content)
    assert signature != documented_signature(old_key, request.content)
    assert (await rig.client.get(f"{ADMIN}/stats")).json()["key_rotations"] == 1


async def test_retry_mode_retries_with_backoff_then_bill_disables_the_subscription(
    rig: Rig,
) -> None:
    created = (await rig.subscribe()).json()
    rig.receiver.answers = [500, 503]
    await add_vendor(rig.client, "Retried A/S")
    stats = await rig.drain()
    assert (stats["attempts"], stats["delivered"]) == (3, 1)
    first_tries = [r.content for r in rig.receiver.requests]
    assert first_tries[0] == first_tries[1] == first_tries[2], "a retry resends the same event"

    rig.receiver.otherwise = 500
    await add_vendor(rig.client, "Never Answered A/S")
    stats = await rig.drain()
    assert (stats["attempts"], stats["failed"], stats["disabled"]) == (7, 1, 1)
    assert (await rig.subscription(created["id"]))["status"] == {"enabled": False}
    await add_vendor(rig.client, "While Disabled ApS")
    assert (await rig.drain())["attempts"] == 7, "a disabled subscription gets nothing"

    rig.receiver.otherwise = 200
    enabled = await rig.client.put(
        f"{EVENTS_API}/subscriptions/{created['id']}", json=subscription_body(), headers=rig.headers
    )
    assert enabled.json()["status"] == {"enabled": True}
    await add_vendor(rig.client, "After Re-enabling ApS")
    assert (await rig.drain())["delivered"] == 2
    log = (await rig.client.get(f"{ADMIN}/webhooks/events")).json()
    assert [e["outcome"] for e in log] == ["delivered", "failed", "delivered"]
    assert log[0]["attempts"] == 3
    assert log[0]["deliveredAt"] >= log[0]["publishedAt"] + 180


async def test_once_mode_makes_one_attempt_and_keeps_the_subscription(rig: Rig) -> None:
    await rig.switch(mode="once")
    created = (await rig.subscribe()).json()
    rig.receiver.answers = [500]
    await add_vendor(rig.client, "Lost Once A/S")
    await add_vendor(rig.client, "Delivered ApS")
    stats = await rig.drain()
    assert (stats["attempts"], stats["failed"], stats["delivered"]) == (2, 1, 1)
    assert (await rig.subscription(created["id"]))["status"] == {"enabled": True}


async def test_a_configured_share_of_events_is_dropped(rig: Rig) -> None:
    await rig.switch(drop_rate=0.3)
    await rig.subscribe()
    vendor = await add_vendor(rig.client, "Many Bills A/S")
    for number in range(199):
        await add_bill(rig.client, vendor["id"], f"B-{number}")
    stats = await rig.drain()
    assert stats["published"] == 200
    assert 40 <= stats["dropped"] <= 80, stats
    assert stats["delivered"] == 200 - stats["dropped"] == len(rig.receiver.requests)
    log = (await rig.client.get(f"{ADMIN}/webhooks/events")).json()
    delivered = {e["eventId"] for e in log if e["outcome"] == "delivered"}
    assert delivered == {b["metadata"]["eventId"] for b in rig.receiver.bodies()}


async def test_a_deleted_subscription_gets_no_more_events(rig: Rig) -> None:
    created = (await rig.subscribe()).json()
    deleted = await rig.client.delete(
        f"{EVENTS_API}/subscriptions/{created['id']}", headers=rig.headers
    )
    assert deleted.status_code == 204
    await add_vendor(rig.client, "Nobody Listens ApS")
    await rig.drain()
    assert rig.receiver.requests == []
    gone = await rig.client.get(f"{EVENTS_API}/subscriptions/{created['id']}", headers=rig.headers)
    assert (gone.status_code, error_code(gone)) == (404, "BDC_1004")
