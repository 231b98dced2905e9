"""Airbase sandbox webhooks: the seed's event body, signed over the exact bytes sent (checked
here with the stdlib's HMAC-SHA256, not the sandbox's code), at least once with retries,
duplicates, drops and shuffled order, and the profile's renames in the body."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from airbase_kit import ADMIN, BILLS, VENDORS, bill_body, create
from fastapi import FastAPI
from sandbox_kit import START

from sandbox import SandboxConfig, create_app

pytestmark = pytest.mark.anyio

HOOK = "https://connector.example/webhooks/airbase"
SECRET = "whsec-airbase-test"


@dataclass
class Receiver:
    """Answers with the next status in ``answers`` (then 200); keeps every request."""

    answers: list[int] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    arrived: asyncio.Event | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.arrived is not None:
            self.arrived.set()
        return httpx.Response(self.answers.pop(0) if self.answers else 200)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@dataclass
class Rig:
    client: httpx.AsyncClient
    receiver: Receiver


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    receiver = Receiver()
    config = SandboxConfig.model_validate(
        {
            "clock_speed": 0,
            "clock_start": START,
            "airbase": {"webhooks": {"retry_delays_seconds": [0, 0]}},
        }
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as hooks:
        app = create_app(config, webhook_client=hooks)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            yield Rig(client, receiver)


async def configure(client: httpx.AsyncClient, **setting: Any) -> None:
    response = await client.put(f"{ADMIN}/webhooks", json={"tenant": "tenant-se-1", **setting})
    assert response.status_code == 200, response.text
    assert SECRET not in response.text


async def approved_and_paid(client: httpx.AsyncClient, *refs: str) -> list[str]:
    """Bill ids in the order they were approved and paid (two events each)."""
    await create(client, VENDORS, {"name": "Nordic Paper AB", "erp_reference_id": "S1"})
    ids = []
    for ref in refs:
        bill = await create(client, BILLS, bill_body("S1", ref, "10.00"))
        await client.post(f"{ADMIN}/bills/{bill['airbase_id']}/approve")
        await client.post(f"{ADMIN}/bills/{bill['airbase_id']}/pay")
        ids.append(bill["airbase_id"])
    return ids


async def drain(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{ADMIN}/webhooks/drain")).status_code == 200


async def test_events_are_signed_over_the_exact_bytes_sent(rig: Rig) -> None:
    await configure(rig.client, url=HOOK, secret=SECRET)
    [bill_id] = await approved_and_paid(rig.client, "INV-1")
    await drain(rig.client)
    assert len(rig.receiver.requests) == 2
    for request in rig.receiver.requests:
        expected = hmac.new(SECRET.encode(), request.content, hashlib.sha256).hexdigest()
        assert request.headers["X-Airbase-Signature"] == f"sha256={expected}"
        assert request.headers["Content-Type"] == "application/json"
    approved, paid = rig.receiver.bodies()
    assert set(approved) == {"id", "object", "type", "created_date", "data"}
    assert approved["object"] == "event"
    assert approved["id"].startswith("evt_")
    assert approved["created_date"] == START.isoformat()
    assert (approved["type"], approved["data"]) == (
        "bill_approved",
        {"object": "bill", "airbase_id": bill_id},
    )
    entries = await rig.client.get(f"{ADMIN}/ledger_entries", params={"tenant": "tenant-se-1"})
    [entry] = entries.json()["records"]
    assert (paid["type"], paid["data"]) == (
        "bill_paid",
        {"object": "ledger_entry", "airbase_id": entry["airbase_id"]},
    )


async def test_no_secret_no_signature_and_other_tenants_get_nothing(rig: Rig) -> None:
    await configure(rig.client, url=HOOK)
    other = await rig.client.put(
        f"{ADMIN}/webhooks", json={"tenant": "tenant-no-1", "url": HOOK + "/no"}
    )
    assert other.status_code == 200
    await approved_and_paid(rig.client, "INV-1")
    await drain(rig.client)
    assert [str(r.url) for r in rig.receiver.requests] == [HOOK, HOOK]
    assert all("X-Airbase-Signature" not in r.headers for r in rig.receiver.requests)


async def test_a_failed_delivery_is_retried_then_given_up(rig: Rig) -> None:
    await configure(rig.client, url=HOOK, secret=SECRET)
    await create(rig.client, VENDORS, {"name": "Nordic Paper AB", "erp_reference_id": "S1"})
    bill = await create(rig.client, BILLS, bill_body("S1", "INV-1", "10.00"))
    rig.receiver.answers = [500, 503, 200]
    await rig.client.post(f"{ADMIN}/bills/{bill['airbase_id']}/approve")
    await drain(rig.client)
    rig.receiver.answers = [500, 500, 500]
    await rig.client.post(f"{ADMIN}/bills/{bill['airbase_id']}/pay")
    await drain(rig.client)
    events = (await rig.client.get(f"{ADMIN}/webhooks/events")).json()
    assert [(e["type"], e["outcome"], e["attempts"]) for e in events] == [
        ("bill_approved", "delivered", 3),
        ("bill_paid", "failed", 3),
    ]
    first = [r.content for r in rig.receiver.requests[:3]]
    assert first[0] == first[1] == first[2]


async def test_duplicates_and_drops(rig: Rig) -> None:
    await configure(rig.client, url=HOOK, secret=SECRET, duplicate_rate=1.0)
    await approved_and_paid(rig.client, "INV-1")
    await drain(rig.client)
    contents = [r.content for r in rig.receiver.requests]
    assert len(contents) == 4
    assert contents[0] == contents[1]
    assert contents[2] == contents[3]
    assert json.loads(contents[0])["id"] != json.loads(contents[2])["id"]
    await configure(rig.client, url=HOOK, drop_rate=1.0)
    await approved_and_paid(rig.client, "INV-2")
    await drain(rig.client)
    assert len(rig.receiver.requests) == 4
    events = (await rig.client.get(f"{ADMIN}/webhooks/events")).json()
    assert [e["outcome"] for e in events[2:]] == ["dropped", "dropped"]


async def test_shuffled_events_are_held_then_sent_out_of_order(rig: Rig) -> None:
    await configure(rig.client, url=HOOK, shuffle=True)
    await approved_and_paid(rig.client, "INV-1")
    event = {
        "tenant": "tenant-se-1",
        "type": "purchase_request_approved",
        "data": {"object": "purchase_request", "airbase_id": "pr-1"},
    }
    assert (await rig.client.post(f"{ADMIN}/events", json=event)).status_code == 202
    assert rig.receiver.requests == []  # three held, the batch is four
    published = [e["id"] for e in (await rig.client.get(f"{ADMIN}/webhooks/events")).json()]
    flushed = await rig.client.post(f"{ADMIN}/webhooks/flush")
    assert flushed.json() == {"sent": 3}
    await drain(rig.client)
    sent = [body["id"] for body in rig.receiver.bodies()]
    assert sorted(sent) == sorted(published)
    assert sent != published


async def test_targets_from_the_configuration(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    receiver = Receiver()
    target = {"url": HOOK + "?tenant=tenant-dk-1", "secret": SECRET}
    config = SandboxConfig.model_validate(
        {
            "clock_speed": 0,
            "clock_start": START,
            "airbase": {"webhooks": {"targets": {"tenant-dk-1": target}}},
        }
    )
    hooks = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    async with hooks, make_client(create_app(config, webhook_client=hooks)) as client:
        shown = (await client.get(f"{ADMIN}/webhooks")).json()["targets"]
        assert shown["tenant-dk-1"]["has_secret"] is True
        assert SECRET not in str(shown)
        event = {"tenant": "tenant-dk-1", "type": "bill_paid", "data": {"object": "x"}}
        await client.post(f"{ADMIN}/events", json=event)
        await client.post(f"{ADMIN}/events", json={**event, "tenant": "tenant-se-1"})
        await drain(client)
    [request] = receiver.requests
    assert str(request.url) == HOOK + "?tenant=tenant-dk-1"
    expected = hmac.new(SECRET.encode(), request.content, hashlib.sha256).hexdigest()
    assert request.headers["X-Airbase-Signature"] == f"sha256={expected}"


async def test_a_shuffled_batch_goes_out_after_its_window(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    """Held events do not wait for a full batch forever: the window is on the sandbox clock,
    so at 3600x an hour-long window passes in a second of real time."""
    arrived = asyncio.Event()
    receiver = Receiver(arrived=arrived)
    config = SandboxConfig.model_validate(
        {
            "clock_speed": 3600,
            "clock_start": START,
            "airbase": {"webhooks": {"shuffle_window_seconds": 3600}},
        }
    )
    hooks = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    async with hooks, make_client(create_app(config, webhook_client=hooks)) as client:
        await configure(client, url=HOOK, shuffle=True)
        event = {"tenant": "tenant-se-1", "type": "bill_paid", "data": {"object": "x"}}
        await client.post(f"{ADMIN}/events", json=event)
        assert receiver.requests == []
        await asyncio.wait_for(arrived.wait(), timeout=10)
    assert len(receiver.requests) == 1


async def test_the_profile_renames_the_body_and_the_header_is_configurable(rig: Rig) -> None:
    await configure(
        rig.client,
        url=HOOK,
        secret=SECRET,
        signature_header="X-Signature",
        signature_prefix="",
    )
    profile = {"fields": {"airbase_id": "uuid", "erp_reference_id": "external_id"}}
    assert (await rig.client.put(f"{ADMIN}/profile", json=profile)).status_code == 200
    event = {
        "tenant": "tenant-se-1",
        "type": "bill_approved",
        "data": {"object": "bill", "airbase_id": "b-1"},
    }
    assert (await rig.client.post(f"{ADMIN}/events", json=event)).status_code == 202
    await drain(rig.client)
    [request] = rig.receiver.requests
    assert json.loads(request.content)["data"] == {"object": "bill", "uuid": "b-1"}
    expected = hmac.new(SECRET.encode(), request.content, hashlib.sha256).hexdigest()
    assert request.headers["X-Signature"] == expected
    shown = (await rig.client.get(f"{ADMIN}/webhooks")).json()
    assert shown["targets"]["tenant-se-1"]["has_secret"] is True
    assert SECRET not in json.dumps(shown)
