"""Issue 10 item 5 end to end: a captured Visma webhook replayed 100 times costs one pull.

The ingress (in process, production AsyncProducer, real broker) receives the same signed
notification 100 times, as an attacker replaying a capture would send it; the whole Visma
poller (composition root, notification runner, company schedule) runs against the
in-process sandbox. Counted: records on the notification topic, pulls the poller made, and
the Visma calls the sandbox served.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from chassis.kafka.async_producer import AsyncProducer
from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events.notifications import VISMA_NOTIFICATIONS
from ingress.app import create_app as create_ingress
from ingress.config import IngressSettings
from sandbox import SandboxConfig
from sandbox import create_app as create_sandbox
from tests.integration.hostile_requests import VISMA_SECRET, visma_signature
from visma_poller.config import PollerConfig
from visma_poller.inject import PollerOverrides, build

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
COMPANY = "tenant-se-1"
ROUTE = "/v1/supplierInvoice"
DEADLINE = 60.0
SECRET_ENV = "MLC_TEST_VISMA_REPLAY_SECRET"
REPLAYS = 100


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Waits for `condition` (checked on each turn of the loop) under a deadline."""
    end = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def captured_notification() -> bytes:
    """A notification as the sandbox's dispatcher sends it for one changed invoice."""
    return json.dumps(
        {"tenantId": COMPANY, "companyId": COMPANY, "entity": "supplierInvoice",
         "id": "Invoice:100001", "event": "Changed", "timestamp": "2026-03-02T10:00:00.000Z"},
        separators=(",", ":"),
    ).encode()  # fmt: skip


async def _replay(settings: KafkaSettings, topic_prefix: str) -> dict[str, int]:
    sandbox = create_sandbox(SandboxConfig.model_validate({
        "clock_speed": 0, "clock_start": datetime(2026, 3, 2, 10, tzinfo=UTC),
        "visma": {"invoices_per_company": 5},
    }))  # fmt: skip
    config = PollerConfig.model_validate({
        "token_url": "http://sb/visma/connect/token", "api_base": "http://sb/visma",
        "companies": [{"tenant_id": COMPANY, "company_id": COMPANY, "client_id": "mlc-demo",
                       "client_secret_env": SECRET_ENV, "hourly_budget": 100_000}],
    })  # fmt: skip
    overrides = PollerOverrides(
        topic_prefix=topic_prefix, transactional_id=f"poller-{topic_prefix}",
        transport=httpx.ASGITransport(app=sandbox), entities=("supplierInvoice",),
    )  # fmt: skip
    poller = build(config, settings, overrides)
    schedule = poller.schedules[(COMPANY, COMPANY)]
    stats = sandbox.state.sandbox.visma.stats
    ingress_settings = IngressSettings(
        visma_webhook_secret=SecretStr(VISMA_SECRET),
        visma_topic=topic_prefix + VISMA_NOTIFICATIONS.name,
    )
    producer = AsyncProducer(
        settings, f"test-ingress-{uuid.uuid4().hex[:6]}",
        delivery_timeout_ms=ingress_settings.kafka_delivery_timeout_ms,
    )  # fmt: skip
    ingress = create_ingress(settings=ingress_settings, send=producer.send, serde=SERDE)
    running = asyncio.create_task(poller.run())
    try:
        await _until(lambda: poller.ready() and schedule.polls == 1 and not schedule.pending_pulls,
                     "the first scheduled poll and the notification partitions")  # fmt: skip
        calls_before, polls_before = stats.calls_by_route[COMPANY][ROUTE], schedule.polls
        all_calls_before = sum(stats.calls.values())
        body = captured_notification()
        headers = {"X-Visma-Signature": visma_signature(body).decode()}
        transport = httpx.ASGITransport(app=ingress)
        async with httpx.AsyncClient(transport=transport, base_url="http://in") as http:
            answers = [await http.post("/webhooks/visma", content=body, headers=headers)
                       for _ in range(REPLAYS)]  # fmt: skip
        await _until(lambda: schedule.polls > polls_before, "the triggered pull")
        await _until(lambda: not schedule.pending_pulls, "the triggered pulls to finish")
        return {
            "accepted": sum(a.status_code == 200 for a in answers),
            "stored_as_new": sum(a.json()["duplicate"] is False for a in answers),
            "pulls": schedule.polls - polls_before,
            "list_calls": stats.calls_by_route[COMPANY][ROUTE] - calls_before,
            "visma_calls": sum(stats.calls.values()) - all_calls_before,
        }
    finally:
        poller.stop()
        await asyncio.wait_for(running, DEADLINE)
        producer.close(timeout=5)


def test_100_replays_of_a_captured_visma_webhook_store_one_record_and_make_one_pull(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "mlc-demo-secret")
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    prefix = f"test.{unique}."
    counts = asyncio.run(_replay(settings, prefix))
    stored = list(iter_to_end(settings, prefix + VISMA_NOTIFICATIONS.name, client=f"t-{unique}"))
    print(f"\n{REPLAYS} replays of one signed Visma notification: {counts}, "
          f"records on the notification topic {len(stored)}")  # fmt: skip
    assert counts["accepted"] == REPLAYS, "a replay is acknowledged (Visma must not retry it)"
    assert counts["stored_as_new"] == 1
    assert len(stored) == 1
    assert counts["pulls"] == 1, "one stored notification: one pull, not a hundred"
    assert counts["list_calls"] == 1, "five invoices: one page per pull"
