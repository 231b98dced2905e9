"""`mlc replay visma-writer` after a delivered run, on the real broker with the sandbox's Visma.

The Visma writer (its own composition root, in-process, the company's client secret in a vault
of the test's own) creates 4 suppliers for BILL vendors and releases 2 supplier invoices; then
2 of its ledger entries (a supplier's and a release's) are deleted. A dry run plans 4 skips and
2 lookups; a resend-missing replay finds the supplier by its corporate id and the release in
effect on the invoice, records both done and resets the group; the writer started again reads
all 6 commands and writes nothing to Visma: every request that reaches the sandbox is counted,
and after the first run there are only reads (GET, and token requests), also after a reset
with Kafka's own `kafka-consumer-groups --reset-offsets --to-datetime` and another run.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from chassis.kafka.producer import EventProducer
from chassis.settings import KafkaSettings, ServiceSettings
from events.commands import ApplyVismaAction
from events.visma_writes import UpsertSupplier
from mlc.replay_run import Mode
from mlc.replay_visma_writer import VismaWriterReplay
from sandbox import create_app
from sandbox.config import SandboxConfig
from tests.integration.sink_replay_rig import (
    SERDE,
    CountingTransport,
    Vault,
    consumed_to_end,
    done_ids,
    ledger,
    replay,
    reset_with_kafka_tool,
    run_until,
    tombstone,
    writes,
)
from visma_writer.config import load_config
from visma_writer.inject import build
from visma_writer.main import options_from, parser

pytestmark = pytest.mark.integration

COMPANY = "tenant-se-1"
CREDENTIAL = f"visma.client-secret/{COMPANY}"
TOKEN_PATH = "/visma/connect/token"
SUPPLIERS = 4
RELEASES = 2


def supplier(n: int, unique: str) -> UpsertSupplier:
    vendor = f"{unique}V{n}"
    return UpsertSupplier(
        command_id=f"{unique}-vendor-{n}", tenant_id=COMPANY, company_id=COMPANY,
        source_system="bill", source_id=vendor, name=f"Leverandør {n} {unique}",
        corporate_id=f"9{int(unique, 16) % 10**6:06d}{n}", currency_id="SEK",
        rule="replay-test", source_event_id=f"{unique}-vendor-event-{n}", entity_type="supplier",
        entity_id=f"{COMPANY}/{COMPANY}/supplier/bill:{vendor}", created_at=datetime.now(UTC),
    )  # fmt: skip


def release(invoice: str, unique: str) -> ApplyVismaAction:
    return ApplyVismaAction(
        command_id=f"{unique}-release-{invoice}", tenant_id=COMPANY, company_id=COMPANY,
        rule="replay-test", source_event_id=f"{unique}-signal-{invoice}",
        entity_type="supplierInvoice", entity_id=f"{COMPANY}/{COMPANY}/supplierInvoice/{invoice}",
        created_at=datetime.now(UTC), action="release", comment="Approved by Ann",
    )  # fmt: skip


def releasable(app: Any) -> list[str]:
    async def read() -> list[dict[str, Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
            answer = await http.get(f"/visma/_sandbox/invoices?company={COMPANY}")
            answer.raise_for_status()
            found: list[dict[str, Any]] = answer.json()
            return found

    invoices = asyncio.run(read())
    return [f"{i['documentType']}:{i['referenceNumber']}" for i in invoices
            if i["status"] == "Balanced"]  # fmt: skip


def test_replay_after_a_delivered_run_writes_nothing_and_finds_the_deleted_entries(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    vault = Vault(kafka, unique)
    vault.put(CREDENTIAL, "mlc-demo-secret")
    app = create_app(SandboxConfig())
    calls: Counter[str] = Counter()
    config = tmp_path / "companies.yaml"
    config.write_text(yaml.safe_dump({
        "token_url": f"http://sandbox{TOKEN_PATH}", "api_base": "http://sandbox/visma",
        "companies": [{"tenant_id": COMPANY, "company_id": COMPANY, "client_id": "mlc-demo",
                       "credential": CREDENTIAL}],
    }))  # fmt: skip
    args = parser().parse_args([
        "--config", str(config), "--group-id", f"it-{unique}-visma-writer",
        "--commands-topic", f"it.{unique}.sink.visma-writer.v1",
        "--ledger-topic", f"it.{unique}.state.visma-writer-ledger.v2",
        "--replies-topic", f"it.{unique}.sink.slack.v1",
        "--review-topic", f"it.{unique}.review.visma-writer.v1",
        "--airbase-topic", f"it.{unique}.sink.airbase.v1",
    ])  # fmt: skip

    def writer() -> Any:
        options = options_from(args, ServiceSettings())
        options.transport = CountingTransport(app, calls)
        options.vault = vault.open
        return build(kafka, load_config(config), options)

    first = writer()  # creates the topics
    since = datetime.now(UTC) - timedelta(seconds=5)
    invoices = releasable(app)[:RELEASES]
    assert len(invoices) == RELEASES, "the sandbox's seed leaves invoices to release"
    commands: list[Any] = [supplier(n, unique) for n in range(SUPPLIERS)]
    commands += [release(invoice, unique) for invoice in invoices]
    ids = [c.command_id for c in commands]
    producer = EventProducer(kafka, "replay-test-commands")
    for c in commands:
        producer.send(args.commands_topic, key=c.key, value=SERDE.encode(c.SCHEMA, c.to_record()))
    producer.flush()
    producer.close()
    asyncio.run(run_until(first, "the first run",
                          lambda: done_ids(kafka, args.ledger_topic, ids) == set(ids)))  # fmt: skip
    written = writes(calls, reads=(TOKEN_PATH,))
    assert sum(written.values()) == SUPPLIERS + RELEASES, written
    entries = ledger(kafka, args.ledger_topic)
    deleted = {i: entries[i] for i in (ids[1], ids[SUPPLIERS])}  # a supplier, a release
    tombstone(kafka, args.ledger_topic, deleted)

    def adapter(context: Any) -> VismaWriterReplay:
        return VismaWriterReplay(context, transport=CountingTransport(app, calls))

    before = dict(calls)
    status, plan = replay(adapter, args, kafka, mode=Mode.DRY_RUN, since=since, vault=vault.open)
    assert status == 0, plan
    assert f"{len(ids)} commands in the window of visma-writer" in plan
    assert f"{len(ids) - 2} skip, 2 look up" in plan
    assert dict(calls) == before  # nothing called at all

    status, done = replay(adapter, args, kafka, mode=Mode.RESEND_MISSING, since=since,
                          vault=vault.open)  # fmt: skip
    assert status == 0, done
    assert "2 of 2 looked up found and recorded done" in done
    assert writes(calls, reads=(TOKEN_PATH,)) == written
    after = ledger(kafka, args.ledger_topic)
    assert {i: after[i].fields["status"] for i in deleted} == dict.fromkeys(deleted, "DONE")
    # The supplier the writer made, found again by its corporate id.
    assert after[ids[1]].fields["external_id"] == deleted[ids[1]].fields["external_id"]

    group, topic = args.group_id, args.commands_topic
    assert not consumed_to_end(kafka, group, topic)  # reset to the window's start
    asyncio.run(run_until(writer(), "the run after", lambda: consumed_to_end(kafka, group, topic)))
    assert writes(calls, reads=(TOKEN_PATH,)) == written

    # The same after a reset with Kafka's own tool: the ledger skips every command.
    reset_with_kafka_tool(kafka, group, topic, since)
    assert not consumed_to_end(kafka, group, topic)
    asyncio.run(run_until(writer(), "the run after", lambda: consumed_to_end(kafka, group, topic)))
    assert writes(calls, reads=(TOKEN_PATH,)) == written
