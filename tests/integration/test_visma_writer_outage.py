"""On the real broker, with the real runner: Visma answers every call with 503 (or 429) for
longer than the writer's retry budget, then comes back. An outage says nothing about the
commands, so the writer waits it out at no cost to their budget: each approved action is
applied once when Visma is back, none is dead-lettered.
Visma itself is the unit tests' fake, behind httpx.MockTransport.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client import REGISTRY
from pydantic import SecretStr

from chassis.http import RetryPolicy
from chassis.kafka.producer import EventProducer
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec
from chassis.vault import CredentialVault, KafkaCredentialLog, KeyRing, MasterKey
from events.commands import ApplyVismaAction
from tests.unit.visma_writer.fake_visma import API, TOKEN_URL, FakeVisma
from visma_writer.config import WriterConfig
from visma_writer.inject import WriterOptions, build

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
CREDENTIAL = "visma.client-secret/c1"
INVOICES = [f"Invoice:{n:06d}" for n in range(1, 4)]
BUDGET_SECONDS = 1.0
OUTAGE_SECONDS = 4 * BUDGET_SECONDS
WAIT_SECONDS = 60.0


class Outage:
    """Answers every API call with `status` (Retry-After: 1 s) from the first API call until
    `OUTAGE_SECONDS` later, then hands the calls to the fake Visma."""

    def __init__(self, visma: FakeVisma, status: int) -> None:
        self._visma = visma
        self._status = status
        self._ends: float | None = None
        self.refused = 0

    @property
    def over(self) -> bool:
        return self._ends is not None and time.monotonic() >= self._ends

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) != TOKEN_URL:
            if self._ends is None:
                self._ends = time.monotonic() + OUTAGE_SECONDS
            if not self.over:
                self.refused += 1
                return httpx.Response(self._status, headers={"Retry-After": "1"}, text="busy")
        return self._visma(request)


def _release(invoice: str, n: int) -> ApplyVismaAction:
    return ApplyVismaAction(
        command_id=f"cmd-{n}", tenant_id="t1", company_id="c1", rule="approvals",
        source_event_id=f"signal-{n}", entity_type="supplierInvoice",
        entity_id=f"t1/c1/supplierInvoice/{invoice}", created_at=datetime(2026, 3, 1, tzinfo=UTC),
        action="release", comment="Approved by Ann",
    )  # fmt: skip


async def _until(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {WAIT_SECONDS}s")
        await asyncio.sleep(0.05)


def _size(kafka: KafkaSettings, topic: str) -> int:
    consumer = Consumer(kafka.client_config("writer-outage-test") | {"group.id": "size"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return int(high - low)
    finally:
        consumer.close()


def _outage_waits(group: str) -> float:
    return REGISTRY.get_sample_value("mlc_record_outage_waits_total", {"group": group}) or 0.0


@pytest.mark.parametrize("status", [503, 429])
def test_a_visma_outage_longer_than_the_budget_dead_letters_nothing(
    kafka_bootstrap: str, unique: str, status: int
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    key = MasterKey.generate()
    credentials_topic = f"it.credentials.{unique}.v1"
    store = KafkaCredentialLog(kafka, topic=credentials_topic, client="writer-outage-vault")
    store.ensure_topic()
    CredentialVault(store, KeyRing(key)).put(CREDENTIAL, SecretStr("client-secret-01"))
    visma = FakeVisma()
    for invoice in INVOICES:
        visma.add(invoice, "Balanced")
    outage = Outage(visma, status)
    config = WriterConfig.model_validate({
        "token_url": TOKEN_URL, "api_base": API,
        "companies": [{"tenant_id": "t1", "company_id": "c1", "client_id": "cid",
                       "credential": CREDENTIAL}],
    })  # fmt: skip
    group = f"writer-{unique}"
    options = WriterOptions(
        group_id=group,
        commands_topic=TopicSpec(f"it.{unique}.sink.visma-writer.v1", 1),
        ledger_topic=TopicSpec(f"it.{unique}.state.visma-writer-ledger.v1", 1, compacted=True),
        replies_topic=TopicSpec(f"it.{unique}.sink.slack.v1", 1),
        transport=httpx.MockTransport(outage),
        # One transport attempt: every 503/429 reaches the runner, which must wait it out.
        retry=RetryPolicy(max_attempts=1),
        vault=lambda: CredentialVault(
            KafkaCredentialLog(kafka, topic=credentials_topic, client="writer-vault"),
            KeyRing(key),
        ),
        retry_budget=BUDGET_SECONDS,
    )

    async def scenario() -> float:
        app = build(kafka, config, options)
        running = asyncio.create_task(app.run())
        try:
            producer = EventProducer(kafka, "writer-outage-test")
            for n, invoice in enumerate(INVOICES):
                cmd = _release(invoice, n)
                producer.send(options.commands_topic.name, key=cmd.key,
                              value=SERDE.encode(cmd.SCHEMA, cmd.to_record()))  # fmt: skip
            producer.flush()
            started = time.monotonic()
            await _until(
                "every command applied", lambda: sum(visma.applied.values()) == len(INVOICES)
            )
            return time.monotonic() - started
        finally:
            app.stop()
            await asyncio.wait_for(running, 60)

    took = asyncio.run(scenario())

    assert outage.over
    assert outage.refused > 1
    assert took > OUTAGE_SECONDS > BUDGET_SECONDS
    assert _outage_waits(group) > 0
    assert {invoice: visma.count(invoice) for invoice in INVOICES} == dict.fromkeys(INVOICES, 1)
    assert _size(kafka, f"dlq.{group}.v1") == 0
