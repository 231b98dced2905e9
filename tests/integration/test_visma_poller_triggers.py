"""100 copies of one Visma notification cost the company at most one extra pull.

The whole poller (composition root, notification runner, company schedule) runs on the real
broker against the in-process sandbox. Once its first scheduled poll is done, 100 identical
notifications arrive on its topic; pulls are coalesced per company and entity (one in
flight, at most one queued), so the sandbox serves at most two more list calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import REGISTRY

from chassis.kafka.producer import EventProducer
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events.notifications import VISMA_NOTIFICATIONS, VismaNotificationReceived
from sandbox import SandboxConfig, create_app
from visma_poller.config import PollerConfig
from visma_poller.inject import PollerOverrides, build

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
COMPANY = "tenant-se-1"
ROUTE = "/v1/supplierInvoice"
DEADLINE = 60.0
SECRET_ENV = "MLC_TEST_VISMA_SECRET"


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Waits for `condition` (checked on each turn of the loop) under a deadline."""
    end = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def _triggers(outcome: str) -> float:
    labels = {"company": COMPANY, "entity": "supplierInvoice", "outcome": outcome}
    return REGISTRY.get_sample_value("mlc_visma_triggers_total", labels) or 0.0


async def _replay_100(settings: KafkaSettings, unique: str) -> tuple[int, int, dict[str, float]]:
    sandbox = create_app(SandboxConfig.model_validate({
        "clock_speed": 0, "clock_start": datetime(2026, 3, 2, 10, tzinfo=UTC),
        "visma": {"invoices_per_company": 5},
    }))  # fmt: skip
    config = PollerConfig.model_validate({
        "token_url": "http://sb/visma/connect/token", "api_base": "http://sb/visma",
        "companies": [{"tenant_id": COMPANY, "company_id": COMPANY, "client_id": "mlc-demo",
                       "client_secret_env": SECRET_ENV, "hourly_budget": 100_000}],
    })  # fmt: skip
    overrides = PollerOverrides(
        topic_prefix=f"test.{unique}.", transactional_id=f"poller-{unique}",
        transport=httpx.ASGITransport(app=sandbox), entities=("supplierInvoice",),
    )  # fmt: skip
    app = build(config, settings, overrides)
    schedule = app.schedules[(COMPANY, COMPANY)]
    stats = sandbox.state.sandbox.visma.stats  # the counters the sandbox keeps per route
    running = asyncio.create_task(app.run())
    try:
        await _until(lambda: app.ready() and schedule.polls == 1 and not schedule.pending_pulls,
                     "the first scheduled poll and the notification partitions")  # fmt: skip
        calls_before, polls_before = stats.calls_by_route[COMPANY][ROUTE], schedule.polls
        counted = {o: _triggers(o) for o in ("pulled", "queued", "coalesced")}
        note = VismaNotificationReceived(
            notification_id="n-1", tenant_id=COMPANY, company_id=COMPANY,
            entity_type="supplierInvoice", entity_id="Invoice:100001", event="Changed",
            received_at=datetime.now(UTC),
        )  # fmt: skip
        producer = EventProducer(settings, f"t-{unique}")
        value = SERDE.encode(note.SCHEMA, note.to_record())
        for _ in range(100):
            producer.send(f"test.{unique}.{VISMA_NOTIFICATIONS.name}", key=note.key, value=value)
        producer.flush()
        producer.close()
        await _until(lambda: sum(_triggers(o) - counted[o] for o in counted) == 100,
                     "the 100 notifications to reach the schedule")  # fmt: skip
        await _until(lambda: not schedule.pending_pulls, "the triggered pulls to finish")
        outcomes = {o: _triggers(o) - counted[o] for o in counted}
        return (
            schedule.polls - polls_before,
            stats.calls_by_route[COMPANY][ROUTE] - calls_before,
            outcomes,
        )
    finally:
        app.stop()
        await asyncio.wait_for(running, DEADLINE)


def test_100_replays_of_a_notification_make_at_most_two_pulls(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "mlc-demo-secret")
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    pulls, calls, outcomes = asyncio.run(_replay_100(settings, unique))
    print(f"\n100 copies of one notification: {pulls} pulls, {calls} Visma list calls, "
          f"triggers {outcomes}")  # fmt: skip
    assert 1 <= pulls <= 2, "the first copy pulls, a copy during that pull queues one more"
    assert calls == pulls, "five invoices: one page per pull"
    assert outcomes["pulled"] == 1
    assert outcomes["queued"] <= 1
