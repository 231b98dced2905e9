"""`mlc replay airbase-sink` after a delivered run, on the real broker with the sandbox's Airbase.

The airbase-sink (its own composition root, in-process, its token in a vault of the test's
own) upserts 6 Visma suppliers as Airbase vendors; then 2 of its ledger entries are deleted.
A dry run plans 4 skips and 2 lookups; a resend-missing replay finds the 2 vendors by their
ERP reference, records them done and resets the group; the sink started again reads all 6
commands and writes nothing. Every request that reaches the sandbox is counted by method:
after the first run, only reads (GET), also after a reset with Kafka's own
`kafka-consumer-groups --reset-offsets --to-datetime` and another run.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from airbase_sink.inject import build
from airbase_sink.main import options_from, parser
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Record
from chassis.settings import KafkaSettings, ServiceSettings
from events.commands import MarkAirbaseEntrySynced, SyncToAirbase
from mlc.replay_airbase import AirbaseReplay
from mlc.replay_contract import ReplayCommand, ReplayContext
from mlc.replay_run import Mode
from sandbox import create_app
from sandbox.airbase.config import demo_token
from sandbox.airbase.payments import OtherEntry, PaymentLine
from sandbox.airbase.state import AirbaseState
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

pytestmark = pytest.mark.integration

TENANT = "tenant-se-1"
CREDENTIAL = f"airbase/{TENANT}"
RECORDS = 6
DELETED = 2


def command(n: int, unique: str) -> SyncToAirbase:
    number = f"{unique[:6]}{n:03d}"
    return SyncToAirbase(
        command_id=f"{unique}-airbase-{n}", tenant_id=TENANT, rule="replay-test",
        source_event_id=f"{unique}-event-{n}", entity_type="supplier",
        entity_id=f"{TENANT}/{TENANT}/supplier/{number}", created_at=datetime.now(UTC),
        note="", payload_json=json.dumps({"number": number, "name": f"Vendor {n}"}),
    )  # fmt: skip


def test_replay_after_a_delivered_run_writes_nothing_and_finds_the_deleted_entries(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    vault = Vault(kafka, unique)
    vault.put(CREDENTIAL, demo_token(TENANT))
    app = create_app(SandboxConfig())
    calls: Counter[str] = Counter()
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(yaml.safe_dump({"tenants": [{
        "tenant_id": TENANT, "company_id": TENANT, "api_base": "http://sandbox/airbase",
        "credential": CREDENTIAL,
    }]}))  # fmt: skip
    args = parser().parse_args([
        "--tenants", str(tenants),
        "--commands-topic", f"it.{unique}.sink.airbase.v1",
        "--ledger-topic", f"it.{unique}.state.airbase-ledger.v1",
        "--group-id", f"it-{unique}-airbase-sink",
    ])  # fmt: skip

    def sink() -> Any:
        options = options_from(args, ServiceSettings())
        options.transport = CountingTransport(app, calls)
        options.vault = vault.open
        return build(kafka, options)

    first = sink()  # creates the topics
    since = datetime.now(UTC) - timedelta(seconds=5)
    commands = [command(n, unique) for n in range(RECORDS)]
    ids = [c.command_id for c in commands]
    producer = EventProducer(kafka, "replay-test-commands")
    for c in commands:
        producer.send(args.commands_topic, key=c.key, value=SERDE.encode(c.SCHEMA, c.to_record()))
    producer.flush()
    producer.close()
    asyncio.run(run_until(first, "the first run",
                          lambda: done_ids(kafka, args.ledger_topic, ids) == set(ids)))  # fmt: skip
    assert sum(writes(calls).values()) == RECORDS  # one POST per vendor
    written = dict(calls)
    vendors = {
        v["erp_reference_id"]: v["id"]
        for v in app.state.sandbox.airbase.tenant(TENANT).every("vendors")
    }
    entries = ledger(kafka, args.ledger_topic)
    deleted = {i: entries[i] for i in ids[1 : 1 + DELETED]}
    tombstone(kafka, args.ledger_topic, deleted)

    def adapter(context: Any) -> AirbaseReplay:
        return AirbaseReplay(context, transport=CountingTransport(app, calls))

    status, plan = replay(adapter, args, kafka, mode=Mode.DRY_RUN, since=since, vault=vault.open)
    assert status == 0, plan
    assert f"{RECORDS} commands in the window of airbase-sink" in plan
    assert f"{RECORDS - DELETED} skip, {DELETED} look up" in plan
    assert dict(calls) == written  # nothing called at all

    status, done = replay(adapter, args, kafka, mode=Mode.RESEND_MISSING, since=since,
                          vault=vault.open)  # fmt: skip
    assert status == 0, done
    assert f"{DELETED} of {DELETED} looked up found and recorded done" in done
    after = ledger(kafka, args.ledger_topic)
    for command_id, before in deleted.items():  # the vendor the sink made, found again
        assert after[command_id].fields["status"] == "DONE"
        assert after[command_id].fields["external_id"] == before.fields["external_id"]

    group, topic = args.group_id, args.commands_topic
    assert not consumed_to_end(kafka, group, topic)  # reset to the window's start
    asyncio.run(run_until(sink(), "the run after", lambda: consumed_to_end(kafka, group, topic)))
    assert sum(writes(calls).values()) == RECORDS

    # The same after a reset with Kafka's own tool: the ledger skips every command.
    reset_with_kafka_tool(kafka, group, topic, since)
    assert not consumed_to_end(kafka, group, topic)
    asyncio.run(run_until(sink(), "the run after", lambda: consumed_to_end(kafka, group, topic)))
    assert sum(writes(calls).values()) == RECORDS
    assert len(vendors) == RECORDS


class Lookups:
    """The airbase-sink's adapter alone, over the in-process sandbox: `find` and nothing else."""

    def __init__(self, kafka: KafkaSettings, unique: str, tmp_path: Path) -> None:
        self.vault = Vault(kafka, unique)
        self.vault.put(CREDENTIAL, demo_token(TENANT))
        self.app = create_app(SandboxConfig())
        self.airbase: AirbaseState = self.app.state.sandbox.airbase
        self.calls: Counter[str] = Counter()
        self.kafka, self.unique = kafka, unique
        tenants = tmp_path / "tenants.yaml"
        tenants.write_text(yaml.safe_dump({"tenants": [{
            "tenant_id": TENANT, "company_id": TENANT, "api_base": "http://sandbox/airbase",
            "credential": CREDENTIAL,
        }]}))  # fmt: skip
        self.args = parser().parse_args(["--tenants", str(tenants)])

    def find(self, commands: list[SyncToAirbase | MarkAirbaseEntrySynced]) -> list[str | None]:
        producer = EventProducer(self.kafka, "replay-test")
        context = ReplayContext(settings=self.kafka, serde=SERDE, producer=producer,
                                vault=self.vault.open, sink_args=self.args)  # fmt: skip

        async def look() -> list[str | None]:
            adapter = AirbaseReplay(context, transport=CountingTransport(self.app, self.calls))
            try:
                return [await adapter.find(as_replayed(c)) for c in commands]
            finally:
                await adapter.aclose()

        try:
            return asyncio.run(look())
        finally:
            producer.close()


def as_replayed(command: SyncToAirbase | MarkAirbaseEntrySynced) -> ReplayCommand:
    record = Record("sink.airbase.v1", 0, 0, command.key, b"", [])
    record.schema, record.value = command.SCHEMA, command.to_record()
    return ReplayCommand(record, command, command.command_id, command.entity_id, None)


def test_a_mark_is_found_when_its_entry_reads_synced_with_its_payment_number(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    rig = Lookups(KafkaSettings(bootstrap_servers=kafka_bootstrap), unique, tmp_path)
    line = PaymentLine(amount=Decimal("125.00"))
    synced = rig.airbase.add_entry(OtherEntry(tenant=TENANT, type="bill_payment", lines=[line]))
    rig.airbase.mark(
        TENANT, synced["airbase_id"], {"status": "synced", "erp_reference_id": "PAY-1"}
    )
    waiting = rig.airbase.add_entry(OtherEntry(tenant=TENANT, type="bill_payment", lines=[line]))

    def mark(entry: str, number: str) -> MarkAirbaseEntrySynced:
        return MarkAirbaseEntrySynced(
            command_id=f"{unique}-{entry}-{number}", tenant_id=TENANT, rule="r",
            source_event_id="ev", entity_type="supplierPayment", entity_id=f"{TENANT}/x/{entry}",
            created_at=datetime.now(UTC), entry_id=entry, visma_payment_number=number,
            company_id=TENANT,
        )  # fmt: skip

    found = rig.find([
        mark(synced["airbase_id"], "PAY-1"), mark(synced["airbase_id"], "PAY-2"),
        mark(waiting["airbase_id"], "PAY-1"), mark("no-such-entry", "PAY-1"),
    ])  # fmt: skip
    assert found == [synced["airbase_id"], None, None, None]
    assert writes(rig.calls) == Counter()


def test_a_receipt_is_found_only_when_airbase_shows_its_orders_received(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    """A receipt creates nothing: it marks its orders received, so an order that is there
    but still open says the receipt was not applied."""
    rig = Lookups(KafkaSettings(bootstrap_servers=kafka_bootstrap), unique, tmp_path)
    rig.airbase.create(TENANT, "vendors", {"erp_reference_id": "V1", "name": "Vendor"})
    orders = {}
    for number in ("PO-1", "PO-2", "PO-3"):
        orders[number] = rig.airbase.create(TENANT, "purchase_orders", {
            "erp_reference_id": number, "vendor": {"erp_reference_id": "V1"},
            "currency": {"iso_code": "SEK"}, "total_amount": "10.00",
        })["airbase_id"]  # fmt: skip
    for number in ("PO-1", "PO-2"):
        rig.airbase.update(TENANT, "purchase_orders", orders[number], {"status": "received"})

    def receipt(n: int, *order_numbers: str) -> SyncToAirbase:
        payload = {"receipt_number": f"R{n}", "status": "Released",
                   "lines": [{"po_order_number": o} for o in order_numbers]}  # fmt: skip
        return SyncToAirbase(
            command_id=f"{unique}-receipt-{n}", tenant_id=TENANT, rule="r", source_event_id="ev",
            entity_type="purchaseReceipt", entity_id=f"{TENANT}/{TENANT}/purchaseReceipt/R{n}",
            created_at=datetime.now(UTC), note="", payload_json=json.dumps(payload),
        )  # fmt: skip

    found = rig.find([receipt(1, "PO-1", "PO-2"), receipt(2, "PO-2", "PO-3"), receipt(3, "PO-9")])
    assert found == [f"{orders['PO-1']},{orders['PO-2']}", None, None]
    assert writes(rig.calls) == Counter()
