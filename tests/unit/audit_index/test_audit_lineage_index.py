"""The audit index answers `mlc audit ID` as the scan of the topic does (`chain_for`), for
every kind of id an operator has in hand, writes each record once however often it is
delivered, and `mlc audit` prints the chain as a timeline or as JSON from it."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tests.unit.audit_index.lineage_trail import (
    AIRBASE_ENTRY,
    AIRBASE_ID,
    BILL_ID,
    KEY_A,
    MONDAY_ITEM,
    SLACK_TS,
    TWILIO_SID,
    VISMA_PAYMENT,
    VISMA_WRITTEN_INVOICE,
    encoded,
    trail,
)

from audit_index.index_file import (
    AuditIndexFile,
    IndexedRecord,
    IndexUnavailable,
    IndexWriteFailed,
    audit_document,
)
from audit_index.lineage_ids import searchable_ids
from audit_index.main import main
from chassis.serde import AvroSerde, SchemaCatalog
from mlc.audit import chain_for, print_audit

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())


def indexed(records: list[dict[str, Any]]) -> list[IndexedRecord]:
    """The records as the indexer gets them: decoded from their Avro bytes."""
    decoded = [SERDE.decode(value)[1] for value in encoded(SERDE, records)]
    return [
        IndexedRecord(r["audit_id"], audit_document(r), frozenset(searchable_ids(r)))
        for r in decoded
    ]


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    path = tmp_path / "audit-index.sqlite3"
    index = AuditIndexFile.for_writing(path)
    index.add(indexed(trail()))
    index.close()
    return path


def chain_ids(chain: list[dict[str, Any]]) -> list[str]:
    return [e["audit_id"] for e in chain]


def from_index(path: Path, wanted: str) -> list[dict[str, Any]]:
    index = AuditIndexFile.for_reading(path)
    try:
        return index.chain(wanted)
    finally:
        index.close()


SERVICES_OF_A = [
    "visma-poller", "processor", "processor", "processor", "slack-sink", "twilio-sink",
    "monday-sink", "twilio-sink",
]  # fmt: skip


@pytest.mark.parametrize(
    ("wanted", "services"),
    [
        # Twilio's status callback names the command, not the event: it is in the chain of
        # the SMS (its command id, its SID), not in that of the Slack message.
        pytest.param(SLACK_TS, SERVICES_OF_A[:-1], id="slack-ts"),
        pytest.param("000123", SERVICES_OF_A, id="visma-invoice-number"),
        # The poller names the record by its Visma entity id: as an entity id it gives that
        # entity's reads (every version), as chain_for always did.
        pytest.param("Invoice:000123", ["visma-poller"], id="visma-entity-id"),
        pytest.param("cmd-sms-a", SERVICES_OF_A, id="command-id"),
        pytest.param(TWILIO_SID, SERVICES_OF_A, id="twilio-sid"),
        pytest.param(MONDAY_ITEM, SERVICES_OF_A[:-1], id="monday-item"),
        pytest.param(
            "t1/c1/supplierInvoice/Invoice:000124@1772352000000",
            ["visma-poller", "processor", "airbase-sink"],
            id="event-id",
        ),
        pytest.param(AIRBASE_ID, ["visma-poller", "processor", "airbase-sink"], id="airbase-id"),
        pytest.param(BILL_ID, ["bill-poller", "bill-mapping", "visma-writer"], id="bill-id"),
        pytest.param(
            VISMA_WRITTEN_INVOICE,
            ["bill-poller", "bill-mapping", "visma-writer"],
            id="visma-number-written",
        ),
        pytest.param(
            VISMA_PAYMENT,
            ["airbase-poller", "airbase-payments", "visma-writer"],
            id="visma-payment-number",
        ),
        pytest.param(
            AIRBASE_ENTRY,
            ["airbase-poller", "airbase-payments", "visma-writer"],
            id="airbase-entry",
        ),
        # An entity key is that entity's records only, not the chain of what it caused.
        pytest.param(KEY_A, ["processor"] * 3 + SERVICES_OF_A[4:], id="entity-key"),
    ],
)
def test_every_kind_of_id_finds_its_chain_as_the_scan_does(
    index_path: Path, wanted: str, services: list[str]
) -> None:
    chain = from_index(index_path, wanted)
    assert [e["service"] for e in chain] == services
    assert chain_ids(chain) == chain_ids(chain_for(trail(), wanted))


def test_the_index_and_the_scan_agree_on_every_id_of_the_trail(index_path: Path) -> None:
    records = trail()
    every_id = {token for r in records for token, _ in searchable_ids(r)}
    assert len(every_id) == 30
    for wanted in every_id:
        assert chain_ids(from_index(index_path, wanted)) == chain_ids(chain_for(records, wanted))
    assert from_index(index_path, "000999") == []


def test_a_redelivered_record_changes_nothing(index_path: Path) -> None:
    index = AuditIndexFile.for_writing(index_path)
    before = index.size()
    assert index.add(indexed(trail())) == 0
    again = index.size()
    assert (again.records, again.ids) == (before.records, before.ids) == (17, again.ids)
    index.close()
    assert chain_ids(from_index(index_path, SLACK_TS)) == chain_ids(chain_for(trail(), SLACK_TS))


def test_a_batch_that_fails_writes_nothing_of_itself(tmp_path: Path) -> None:
    index = AuditIndexFile.for_writing(tmp_path / "i.sqlite3")
    records = indexed(trail())
    # A value SQLite cannot bind fails the batch half way, after its first record.
    broken = IndexedRecord("audit-broken", object(), frozenset())  # type: ignore[arg-type]
    with pytest.raises(IndexWriteFailed, match="a batch of 3 not written"):
        index.add([records[0], broken, records[1]])
    assert index.size().records == 0
    assert index.add(records[:2]) == 2
    index.close()


def test_a_missing_index_is_refused_for_reading(tmp_path: Path) -> None:
    with pytest.raises(IndexUnavailable, match="no audit index at"):
        AuditIndexFile.for_reading(tmp_path / "none.sqlite3")
    (tmp_path / "junk").write_text("not a database, just text that is long enough " * 40)
    with pytest.raises(IndexUnavailable, match="not a readable audit index"):
        AuditIndexFile.for_reading(tmp_path / "junk")


def run_audit(wanted: str, index: Path, *, as_json: bool = False) -> int:
    return print_audit(argparse.Namespace(id=wanted, index=index, json=as_json))


def test_mlc_audit_prints_the_timeline_from_the_index(
    index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_audit("000123", index_path) == 0
    lines = capsys.readouterr().out.splitlines()
    first_two = [line.split()[1:3] for line in lines[:2]]
    assert first_two == [["visma-poller", "read"], ["processor", "routed"]]
    assert lines[0].startswith("2026-03-01T08:00:00.000+00:00")
    sent = next(line for line in lines if "slack-sink" in line)
    assert f"external={SLACK_TS}" in sent
    assert "command=cmd-slack-a" in sent
    assert all(line.endswith("  build=0.1.0+gtest") for line in lines)


def test_mlc_audit_json_is_a_list_of_records_with_stable_names(
    index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_audit(TWILIO_SID, index_path, as_json=True) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == len(SERVICES_OF_A)
    assert list(records[0]) == [
        "audit_id", "at", "service", "stage", "entity_id", "event_id", "command_id",
        "external_id", "detail", "correlation_id", "build_version",
    ]  # fmt: skip
    assert records[0]["at"] == "2026-03-01T08:00:00.000+00:00"
    assert records[-1] | {"at": None} == {
        "audit_id": "audit-0010", "at": None, "service": "twilio-sink", "stage": "sent",
        "entity_id": KEY_A, "event_id": None, "command_id": "cmd-sms-a",
        "external_id": TWILIO_SID, "detail": "delivered", "correlation_id": None,
        "build_version": "0.1.0+gtest",
    }  # fmt: skip


def test_mlc_audit_errors_are_one_line(
    index_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_audit("no-such-id", index_path) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", "mlc audit: no audit record holds no-such-id\n")
    assert run_audit(SLACK_TS, tmp_path / "gone.sqlite3") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"mlc audit: no audit index at {tmp_path / 'gone.sqlite3'}")


def test_an_index_of_another_format_is_refused_not_misread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    older = tmp_path / "older.sqlite3"
    db = sqlite3.connect(older)
    db.executescript(
        "CREATE TABLE records (rec INTEGER PRIMARY KEY, audit_id TEXT, value BLOB);"
        "CREATE TABLE ids (token TEXT, kind INTEGER, rec INTEGER);"
    )
    db.close()
    for opening in (AuditIndexFile.for_reading, AuditIndexFile.for_writing):
        with pytest.raises(IndexUnavailable, match="format 0, this version reads format 1"):
            opening(older)
    assert run_audit(SLACK_TS, older) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["--path", str(older)]) == 2
