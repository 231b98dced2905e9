"""The monday sandbox's webhooks delivered to the ingress in process, as monday would send them.

The sandbox registers the webhook through the challenge handshake, a warehouse user changes
a status, and the sandbox POSTs the event with a fresh JWT per attempt and retries what was
not answered 2xx each sandbox minute for 30 minutes (a fast sandbox clock makes that
instant). Kafka is a fake sender.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fake_sender import FakeSender
from pydantic import SecretStr

from chassis.kafka.producer import ProduceError
from chassis.serde import AvroSerde, SchemaCatalog
from events.monday import MondayColumnChanged
from ingress.app import create_app as create_ingress
from ingress.config import IngressSettings
from sandbox import SandboxConfig
from sandbox import create_app as create_sandbox
from sandbox.monday.config import DEMO_MONDAY_TOKEN, DEMO_SIGNING_SECRET

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
PUBLIC_URL = "https://connector.example/webhooks/monday"
HOOK_URL = PUBLIC_URL + "?tenant=acme"
BOARD = "1000000001"  # the seeded procurement board
CREATE = """
mutation ($board: ID!, $name: String!, $values: JSON) {
  create_item(board_id: $board, item_name: $name, column_values: $values) { id }
}"""


@dataclass
class Rig:
    sandbox: httpx.AsyncClient
    sender: FakeSender

    async def hook(self) -> httpx.Response:
        body = {"board_id": BOARD, "url": HOOK_URL, "event": "change_status_column_value"}
        return await self.sandbox.post("/monday/_sandbox/webhooks", json=body)

    async def item(self, name: str) -> str:
        values = {"status_receipt": {"label": "Pending"}}
        body = {"query": CREATE, "variables": {"board": BOARD, "name": name, "values": values}}
        headers = {"Authorization": DEMO_MONDAY_TOKEN, "API-Version": "2025-07"}
        answer = await self.sandbox.post("/monday/v2", json=body, headers=headers)
        return str(answer.json()["data"]["create_item"]["id"])

    async def receive(self, item_id: str, label: str = "Received") -> None:
        url = f"/monday/_sandbox/boards/{BOARD}/items/{item_id}/change"
        changed = await self.sandbox.post(url, json={"column_id": "status_receipt",
                                                     "value": {"label": label}})  # fmt: skip
        assert changed.is_success, changed.text

    async def drain(self) -> dict[str, int]:
        stats: dict[str, int] = (await self.sandbox.post("/monday/_sandbox/webhooks/drain")).json()
        return stats

    def stored(self) -> list[MondayColumnChanged]:
        return [MondayColumnChanged.from_record(SERDE.decode(s.value)[1]) for s in self.sender.sent]


@pytest.fixture
async def make_rig() -> AsyncIterator[Callable[..., Rig]]:
    clients: list[httpx.AsyncClient] = []

    def make(*, sandbox_secret: str | None = DEMO_SIGNING_SECRET, **settings: Any) -> Rig:
        sender = FakeSender()
        ingress = create_ingress(
            settings=IngressSettings(
                monday_signing_secret=SecretStr(DEMO_SIGNING_SECRET),
                monday_webhook_url=PUBLIC_URL,
                **settings,
            ),
            send=sender,
            serde=SERDE,
        )
        to_ingress = httpx.AsyncClient(transport=httpx.ASGITransport(app=ingress))
        config = SandboxConfig.model_validate({
            "clock_speed": 6000, "clock_start": datetime(2026, 3, 2, 10, tzinfo=UTC),
            "monday": {"webhook_signing_secret": sandbox_secret}})  # fmt: skip
        app = create_sandbox(config, webhook_client=to_ingress)
        sandbox = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sb")
        clients.extend([to_ingress, sandbox])
        return Rig(sandbox, sender)

    yield make
    for client in clients:
        await client.aclose()


async def test_a_warehouse_status_change_reaches_kafka_once(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    item_id = await rig.item("PO 42")
    assert (await rig.hook()).is_success  # the ingress echoed the sandbox's challenge

    await rig.receive(item_id)
    stats = await rig.drain()

    assert (stats["attempts"], stats["delivered"]) == (1, 1)
    [change] = rig.stored()
    assert (change.tenant_id, change.account_id) == ("acme", "9000001")
    assert (change.board_id, change.item_id, change.column_id) == (BOARD, item_id, "status_receipt")
    assert (change.value_text, change.previous_text) == ("Received", "Pending")


async def test_webhooks_signed_with_another_secret_are_never_stored(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig(sandbox_secret="not-the-apps-signing-secret-at-all!")
    item_id = await rig.item("PO 43")
    await rig.hook()

    await rig.receive(item_id)
    stats = await rig.drain()

    # 401 every time: monday retries each minute for its 30 minutes, then gives up.
    assert (stats["attempts"], stats.get("delivered", 0), stats["failed"]) == (31, 0, 1)
    assert rig.sender.calls == 0


async def test_a_delivery_kafka_did_not_confirm_is_stored_on_mondays_retry(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig()
    refusals = [ProduceError("broker unreachable")] * 2

    async def flaky() -> None:
        if refusals:
            raise refusals.pop()

    rig.sender.behaviour = flaky
    item_id = await rig.item("PO 44")
    await rig.hook()

    await rig.receive(item_id)
    stats = await rig.drain()

    assert (stats["attempts"], stats["delivered"]) == (3, 1)
    assert len(rig.stored()) == 1
