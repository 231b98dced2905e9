"""The replay adapters of the monday-sink, the airbase-sink and the Visma writer: which commands
each can look for in its system, what a ledger entry means, and what it refuses to decode.

No broker and no system: the adapters are built from the sinks' own options (files in a
temporary directory) and asked about commands; the lookups themselves run against the
sandbox in tests/integration/test_replay_*.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from airbase_sink.main import parser as airbase_parser
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Record
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events.commands import ApplyVismaAction, CreateMondayItem, SyncToAirbase
from mlc.replay_airbase import AirbaseReplay
from mlc.replay_contract import (
    CommandLedgerTopic,
    EntryState,
    ReplayCommand,
    ReplayContext,
    build_adapter,
    sink_parser,
)
from mlc.replay_monday import MondayReplay
from mlc.replay_visma_writer import VismaWriterReplay
from monday_sink.main import parser as monday_parser
from visma_writer.main import parser as writer_parser

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
TOPIC = CommandLedgerTopic("sink.x.v1", "state.x.v1")


def context(args: Any) -> ReplayContext:
    # The adapters keep the producer for `record_found`; nothing here writes.
    producer = cast(EventProducer, object())
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:9")
    return ReplayContext(settings=settings, serde=SERDE, producer=producer, sink_args=args)


def replayed(adapter: Any, command: Any) -> ReplayCommand:
    record = Record("sink.x.v1", 0, 7, command.key, b"", [], timestamp_ms=None)
    record.schema, record.value = command.SCHEMA, command.to_record()
    decoded: ReplayCommand = adapter.decode(record)
    return decoded


ENVELOPE: dict[str, Any] = {
    "rule": "r", "source_event_id": "ev", "created_at": NOW, "entity_type": "supplierInvoice",
}  # fmt: skip


# ---- monday-sink ---------------------------------------------------------------------------


@pytest.fixture
def monday(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MondayReplay:
    monkeypatch.setenv("REPLAY_UNIT_MONDAY_TOKEN", "t0ken")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump({
        "tenant": "t1",
        "boards": [{"board": "42", "match": "table", "columns": {"visma_id": "Visma ID"}}],
    }))  # fmt: skip
    args = monday_parser().parse_args(
        ["--mapping", str(mapping), "--tenant-token", "t1=REPLAY_UNIT_MONDAY_TOKEN"]
    )
    return MondayReplay(context(args))


def item(board: str, visma_id: str | None) -> CreateMondayItem:
    return CreateMondayItem(
        command_id=f"c-{board}-{visma_id}", tenant_id="t1", entity_id="t1/c1/x/1",
        board_id=board, item_name="Invoice 1", body="", visma_id=visma_id, **ENVELOPE,
    )  # fmt: skip


def test_monday_looks_up_a_mapped_board_by_visma_id_and_nothing_else(monday: MondayReplay) -> None:
    assert monday.searchable(replayed(monday, item("42", "c1/supplierInvoice/1"))) is None
    digest = monday.searchable(replayed(monday, item("42", None)))
    assert digest is not None
    assert "without a Visma id" in digest
    unmapped = monday.searchable(replayed(monday, item("43", "c1/supplierInvoice/1")))
    assert unmapped is not None
    assert "board 43 of tenant t1 has no column mapping" in unmapped
    assert monday.group_id == "mlc-monday-sink"
    assert [(t.commands, t.ledger) for t in monday.topics] == [
        ("sink.monday.v1", "state.monday-ledger.v1")
    ]


def test_monday_ledger_entries_mean_done_with_the_item_or_pending(monday: MondayReplay) -> None:
    entry = {"command_id": "c", "status": "DONE", "tenant_id": "t1", "board_id": "42",
             "at": NOW, "item_id": "9001", "action": "CREATED"}  # fmt: skip
    done = monday.ledger_state(TOPIC, entry)
    assert (done.state, done.external_id) == (EntryState.DONE, "9001")
    pending = monday.ledger_state(TOPIC, {**entry, "status": "PENDING", "item_id": None})
    assert pending.state is EntryState.PENDING


# ---- airbase-sink --------------------------------------------------------------------------


@pytest.fixture
def airbase(tmp_path: Path) -> AirbaseReplay:
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(yaml.safe_dump({"tenants": [{
        "tenant_id": "t1", "company_id": "c1", "api_base": "http://sandbox/airbase",
        "credential": "airbase/t1",
    }]}))  # fmt: skip
    return AirbaseReplay(context(airbase_parser().parse_args(["--tenants", str(tenants)])))


def sync(tenant: str, entity_type: str, payload: dict[str, Any]) -> SyncToAirbase:
    return SyncToAirbase(
        command_id=f"s-{tenant}", tenant_id=tenant, entity_id=f"{tenant}/c1/x/1", note="",
        payload_json=json.dumps(payload), **{**ENVELOPE, "entity_type": entity_type},
    )  # fmt: skip


def test_airbase_looks_up_what_the_sink_could_write(airbase: AirbaseReplay) -> None:
    vendor = sync("t1", "supplier", {"number": "S1", "name": "Vendor"})
    assert airbase.searchable(replayed(airbase, vendor)) is None
    stranger = airbase.searchable(replayed(airbase, sync("t9", "supplier", {"number": "S1"})))
    assert stranger is not None
    assert "tenant t9 has no Airbase account" in stranger
    bill = {"reference_number": "000123", "document_type": "Invoice", "amount": "10.00",
            "currency": "SEK"}  # fmt: skip
    unusable = airbase.searchable(replayed(airbase, sync("t1", "supplierInvoice", bill)))
    assert unusable == (
        "its record cannot become an Airbase object (supplier invoice 000123 names no "
        "supplier: a bill needs its vendor)"
    )


def test_airbase_refuses_a_record_that_is_no_command_of_the_sink(airbase: AirbaseReplay) -> None:
    stray = item("42", "x")
    with pytest.raises(ValueError, match="no handler"):
        replayed(airbase, stray)


# ---- visma-writer --------------------------------------------------------------------------


@pytest.fixture
def writer(tmp_path: Path) -> VismaWriterReplay:
    config = tmp_path / "companies.yaml"
    config.write_text(yaml.safe_dump({
        "token_url": "http://sandbox/visma/connect/token", "api_base": "http://sandbox/visma",
        "companies": [{"tenant_id": "t1", "company_id": "c1", "client_id": "mlc-demo",
                       "credential": "visma/c1"}],
    }))  # fmt: skip
    return VismaWriterReplay(context(writer_parser().parse_args(["--config", str(config)])))


def action(name: str, company: str = "c1") -> ApplyVismaAction:
    return ApplyVismaAction(
        command_id=f"a-{name}-{company}", tenant_id="t1", company_id=company,
        entity_id="t1/c1/supplierInvoice/Invoice:1", action=name, comment="ok", **ENVELOPE,
    )  # fmt: skip


def test_an_action_is_searchable_only_where_the_invoice_shows_it(
    writer: VismaWriterReplay,
) -> None:
    for searchable in ("release", "prebook", "sendtoapproval", "voidinvoice"):
        assert writer.searchable(replayed(writer, action(searchable))) is None
    for blind in ("reverse", "writeoff", "correct"):
        why = writer.searchable(replayed(writer, action(blind)))
        assert why == f"'{blind}' leaves no mark on the invoice that tells whether it was applied"
    elsewhere = writer.searchable(replayed(writer, action("release", company="c9")))
    assert elsewhere is not None
    assert "company t1/c9 has no Visma credentials" in elsewhere


def test_the_writer_refuses_a_record_that_is_no_command_of_it(writer: VismaWriterReplay) -> None:
    with pytest.raises(ValueError, match="no handler"):
        replayed(writer, item("42", "x"))


def test_mlc_replay_builds_each_adapter_from_the_sinks_own_options(
    monday: MondayReplay, airbase: AirbaseReplay, writer: VismaWriterReplay, tmp_path: Path
) -> None:
    """`mlc replay SINK -- OPTIONS`: the sink's `mlc run` parser reads OPTIONS, the registry
    builds the sink's adapter with them."""
    config = tmp_path / "companies.yaml"  # written by the writer fixture
    args = sink_parser("visma-writer").parse_args(["--config", str(config), "--group-id", "g"])
    built = build_adapter("visma-writer", context(args))
    assert isinstance(built, VismaWriterReplay)
    assert built.group_id == "g"
    tenants = tmp_path / "tenants.yaml"
    built_airbase = build_adapter(
        "airbase-sink", context(sink_parser("airbase-sink").parse_args(["--tenants", str(tenants)]))
    )
    assert isinstance(built_airbase, AirbaseReplay)
    mapping = tmp_path / "mapping.yaml"
    monday_args = sink_parser("monday-sink").parse_args(
        ["--mapping", str(mapping), "--tenant-token", "t1=REPLAY_UNIT_MONDAY_TOKEN"]
    )
    assert isinstance(build_adapter("monday-sink", context(monday_args)), MondayReplay)
