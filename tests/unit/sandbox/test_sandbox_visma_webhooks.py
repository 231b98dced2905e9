"""Webhooks: one signed POST per change, never retried, a seeded share dropped."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from sandbox_kit import frozen_config

from sandbox import create_app
from sandbox.app import Sandbox

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

HOOK = "https://receiver.example.test/visma"
SECRET = "whsec-sandbox-test"
COMPANY = "tenant-se-1"


@dataclass
class Receiver:
    """The webhook consumer: records what arrives and answers ``status``."""

    status: int = 204
    fail: bool = False
    received: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        if self.fail:
            raise httpx.ConnectError("receiver down", request=request)
        return httpx.Response(self.status)

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(r.content) for r in self.received]


@dataclass
class Rig:
    client: httpx.AsyncClient
    sandbox: Sandbox
    receiver: Receiver

    async def subscribe(self, **fields: object) -> None:
        body = {"url": HOOK, "secret": SECRET, **fields}
        response = await self.client.post("/visma/_sandbox/webhooks", json=body)
        assert response.status_code == 201, response.text

    async def settle(self) -> dict[str, object]:
        await self.sandbox.visma.webhooks.drain()
        stats: dict[str, object] = (await self.client.get("/visma/_sandbox/stats")).json()
        return stats["webhooks"]  # type: ignore[return-value]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    receiver = Receiver()
    hooks = httpx.AsyncClient(transport=httpx.MockTransport(receiver.handle))
    app = create_app(frozen_config(), webhook_client=hooks)
    transport = httpx.ASGITransport(app=app)
    async with hooks, httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield Rig(client, app.state.sandbox, receiver)


def _signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


async def test_each_change_is_one_signed_post(rig: Rig) -> None:
    await rig.subscribe()
    created = await rig.client.post("/visma/_sandbox/entities/supplier", json={"company": COMPANY})
    number = created.json()["number"]
    await rig.client.post("/visma/_sandbox/clock", json={"advance_seconds": 2})
    await rig.client.patch(
        f"/visma/_sandbox/entities/supplier/{COMPANY}/{number}", json={"status": "Inactive"}
    )
    stats = await rig.settle()
    assert len(rig.receiver.received) == 2
    for request in rig.receiver.received:
        assert request.method == "POST"
        assert str(request.url) == HOOK
        assert request.headers["X-Visma-Signature"] == _signature(request.content)
        assert b" " not in request.content, "minified JSON"
    assert rig.receiver.bodies() == [
        {
            "tenantId": COMPANY,
            "companyId": COMPANY,
            "entity": "supplier",
            "id": number,
            "event": event,
            "timestamp": stamp,
        }
        for event, stamp in (
            ("Created", "2026-03-02T10:00:00.000Z"),
            ("Changed", "2026-03-02T10:00:02.000Z"),
        )
    ]
    assert stats == {"sent": 2, "dropped": 0, "failed": 0, "by_status": {"204": 2}}


async def test_filters_header_name_and_touch(rig: Rig) -> None:
    await rig.subscribe(header_name="X-Sig", entities=["purchaseorder"], companies=[COMPANY])
    listed = (await rig.client.get("/visma/_sandbox/webhooks")).json()
    assert listed[0]["entities"] == ["purchaseOrder"]
    assert "secret" not in listed[0]
    await rig.client.post("/visma/_sandbox/entities/purchaseOrder/tenant-no-1/touch", json={})
    await rig.client.post("/visma/_sandbox/entities/customer/tenant-se-1/touch", json={})
    touched = await rig.client.post(
        f"/visma/_sandbox/entities/purchaseOrder/{COMPANY}/touch", json={"count": 4}
    )
    await rig.client.post("/visma/_sandbox/invoices", json={"company": COMPANY, "amount": "9"})
    await rig.settle()
    assert [b["id"] for b in rig.receiver.bodies()] == touched.json()["changed"]
    assert all(r.headers["X-Sig"] == _signature(r.content) for r in rig.receiver.received)
    assert (await rig.client.delete("/visma/_sandbox/webhooks")).status_code == 200
    assert (await rig.client.get("/visma/_sandbox/webhooks")).json() == []


async def test_invoice_alias_changes_are_announced(rig: Rig) -> None:
    await rig.subscribe(entities=["supplierInvoice"])
    await rig.client.post("/visma/_sandbox/invoices", json={"company": COMPANY, "amount": "9"})
    await rig.client.patch(f"/visma/_sandbox/invoices/{COMPANY}/100001", json={"status": "Open"})
    await rig.settle()
    bodies = rig.receiver.bodies()
    assert [(b["id"], b["event"]) for b in bodies] == [
        ("Invoice:100008", "Created"),
        ("Invoice:100001", "Changed"),
    ]


@pytest.mark.parametrize(("status", "fail", "label"), [(500, False, "500"), (0, True, "error")])
async def test_a_failed_delivery_is_never_retried(
    rig: Rig, status: int, fail: bool, label: str
) -> None:
    rig.receiver.status, rig.receiver.fail = status, fail
    await rig.subscribe()
    await rig.client.post(f"/visma/_sandbox/entities/account/{COMPANY}/touch", json={"count": 1})
    stats = await rig.settle()
    assert len(rig.receiver.received) == 1
    assert stats == {"sent": 1, "dropped": 0, "failed": 1, "by_status": {label: 1}}


async def test_drop_rate_one_sends_nothing(rig: Rig) -> None:
    await rig.subscribe(drop_rate=1.0)
    await rig.client.post(f"/visma/_sandbox/entities/employee/{COMPANY}/touch", json={"count": 5})
    stats = await rig.settle()
    assert rig.receiver.received == []
    assert stats == {"sent": 0, "dropped": 5, "failed": 0, "by_status": {}}


async def test_drop_rate_drops_a_seeded_share(rig: Rig) -> None:
    await rig.subscribe(drop_rate=0.3)
    for _ in range(20):
        touched = await rig.client.post(
            f"/visma/_sandbox/entities/dimension/{COMPANY}/touch", json={"count": 10}
        )
        assert len(touched.json()["changed"]) == 10
    stats = await rig.settle()
    assert stats["dropped"] == 70  # as drawn for seed 42; 30% of 200 is 60 ± 13 (2 sd)
    assert stats["sent"] == len(rig.receiver.received) == 200 - 70


async def test_the_app_closes_the_client_it_built() -> None:
    app = create_app(frozen_config())
    client = app.state.sandbox.visma.webhooks.client
    async with app.router.lifespan_context(app):
        assert not client.is_closed
    assert client.is_closed
