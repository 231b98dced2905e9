"""On the real broker, with the real runner and vault: Visma refuses a company's client
secret, so the writer holds that company's commands (not applied, not dead-lettered, not
committed) until `mlc secrets set` puts a new secret in the vault; then each is applied once,
without a restart. Visma itself is the unit tests' fake, behind httpx.MockTransport.
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
REVOKED, REPLACEMENT = "revoked-client-secret-01", "replacement-client-secret-02"
INVOICES = [f"Invoice:{n:06d}" for n in range(1, 5)]
WAIT_SECONDS = 60.0


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


def _held(group: str) -> float:
    return REGISTRY.get_sample_value("mlc_records_held", {"group": group}) or 0.0


def _size(kafka: KafkaSettings, topic: str) -> int:
    consumer = Consumer(kafka.client_config("writer-credentials-test") | {"group.id": "size"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return int(high - low)
    finally:
        consumer.close()


def test_a_replaced_secret_in_the_vault_releases_the_held_commands(
    kafka_bootstrap: str, unique: str
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    key = MasterKey.generate()
    credentials_topic = f"it.credentials.{unique}.v1"
    store = KafkaCredentialLog(kafka, topic=credentials_topic, client="writer-test-vault")
    store.ensure_topic()
    operator = CredentialVault(store, KeyRing(key))
    operator.put(CREDENTIAL, SecretStr(REVOKED))
    visma = FakeVisma(accepted_secret=REPLACEMENT)
    for invoice in INVOICES:
        visma.add(invoice, "Balanced")
    config = WriterConfig.model_validate({
        "token_url": TOKEN_URL, "api_base": API,
        "companies": [{"tenant_id": "t1", "company_id": "c1", "client_id": "cid",
                       "credential": CREDENTIAL}],
    })  # fmt: skip
    group = f"writer-{unique}"
    options = WriterOptions(
        group_id=group,
        commands_topic=TopicSpec(f"it.{unique}.sink.visma-writer.v1", 3),
        ledger_topic=TopicSpec(f"it.{unique}.state.visma-writer-ledger.v1", 3, compacted=True),
        replies_topic=TopicSpec(f"it.{unique}.sink.slack.v1", 3),
        transport=httpx.MockTransport(visma),
        vault=lambda: CredentialVault(
            KafkaCredentialLog(kafka, topic=credentials_topic, client="writer-vault"),
            KeyRing(key),
        ),
        credential_refresh_seconds=0.2,
    )

    async def scenario() -> None:
        app = build(kafka, config, options)
        running = asyncio.create_task(app.run())
        try:
            producer = EventProducer(kafka, "writer-credentials-test")
            for n, invoice in enumerate(INVOICES):
                cmd = _release(invoice, n)
                producer.send(options.commands_topic.name, key=cmd.key,
                              value=SERDE.encode(cmd.SCHEMA, cmd.to_record()))  # fmt: skip
            producer.flush()
            await _until("every command held", lambda: _held(group) == len(INVOICES))
            assert sum(visma.applied.values()) == 0

            await asyncio.to_thread(operator.put, CREDENTIAL, SecretStr(REPLACEMENT))
            await _until(
                "every command applied",
                lambda: sum(visma.applied.values()) == len(INVOICES) and _held(group) == 0,
            )
        finally:
            app.stop()
            await asyncio.wait_for(running, 60)

    asyncio.run(scenario())

    assert {invoice: visma.count(invoice) for invoice in INVOICES} == dict.fromkeys(INVOICES, 1)
    assert _size(kafka, f"dlq.{group}.v1") == 0
