"""`mlc dlq` without a broker: --help examples, one-line errors for what is checked before
any read (a malformed id, an unknown class, a bad time), ids, times and --edit values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chassis.serde import AvroSerde, SchemaCatalog
from events import PostSlackMessage
from mlc.cli import main as mlc
from mlc.dlq_edit import edited_value
from mlc.dlq_reader import DeadLetterId, DlqQueryError, parse_time
from mlc.dlq_redrive import RedriveRequest, check_request

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("command", ["list", "show", "redrive"])
def test_every_dlq_command_has_help_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        mlc(["dlq", command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert f"mlc dlq {command} " in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["dlq", "show", "slack-sink:0"], "malformed dead-letter id 'slack-sink:0'"),
        (["dlq", "show", "slack-sink:x:3"], "malformed dead-letter id"),
        (["dlq", "list", "--class", "flaky"], "unknown class 'flaky': one of permanent, "),
        (["dlq", "list", "--since", "yesterday"], "--since 'yesterday' is not a time"),
        (["dlq", "list", "--since", "2099-01-01"], "--since 2099-01-01 is in the future"),
        (["dlq", "redrive", "--group", "g", "--class", "nope"], "unknown class 'nope'"),
        (["dlq", "redrive", "--group", "g", "--since", "3 days"], "--since '3 days' is not a time"),
        (["dlq", "redrive", "--group", "g", "--id", "g:0:1:x"], "malformed dead-letter id"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mlc(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlc dlq: ")
    assert err.count("\n") == 1
    assert expected in err


def test_an_id_is_group_partition_offset_and_a_group_may_hold_colons() -> None:
    parsed = DeadLetterId.parse("tenant:a:slack-sink:2:41")
    assert (parsed.group, parsed.partition, parsed.offset) == ("tenant:a:slack-sink", 2, 41)
    assert str(parsed) == "tenant:a:slack-sink:2:41"


def test_a_time_is_iso_utc_unless_it_says_or_an_age() -> None:
    assert parse_time("2026-12-03T06:00", now=NOW) == datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    assert parse_time("2026-12-03T08:00+02:00", now=NOW) == datetime(2026, 12, 3, 6, tzinfo=UTC)
    assert parse_time("12h", now=NOW) == datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
    assert parse_time("7d", now=NOW) == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert parse_time("30m", now=NOW) == datetime(2026, 12, 3, 8, 30, tzinfo=UTC)


def test_a_redrive_is_refused_before_any_write_when_it_cannot_be_right() -> None:
    with pytest.raises(DlqQueryError, match="is not of group 'a'"):
        check_request(RedriveRequest(group="a", ids=(DeadLetterId("b", 0, 1),)))
    with pytest.raises(DlqQueryError, match="--edit takes exactly one --id"):
        check_request(RedriveRequest(group="a", edit=Path("fix.yaml")))
    with pytest.raises(DlqQueryError, match="the faust processor"):
        check_request(RedriveRequest(group="mlc-processor"))


def _command() -> dict[str, object]:
    return {
        "command_id": "c-1",
        "tenant_id": "t1",
        "workspace": "acme",
        "channel": "C42",
        "text": "Invoice 1001 approved",
        "rule": "large",
        "source_event_id": "e-1",
        "entity_type": "supplierInvoice",
        "entity_id": "Bill:1001",
        "created_at": "2026-12-03T08:00:00+00:00",
    }


def test_an_edit_is_encoded_with_the_records_schema(tmp_path: Path) -> None:
    serde = AvroSerde(SchemaCatalog.load())
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(_command()))

    schema, value = serde.decode(edited_value(serde, PostSlackMessage.SCHEMA, fixed))

    assert schema == PostSlackMessage.SCHEMA
    assert value["channel"] == "C42"
    assert value["created_at"] == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"channel": None}, "does not validate as"),
        ({"chanel": "C1"}, "has no field chanel"),
        ({"created_at": "not a time"}, "does not validate as"),
    ],
)
def test_an_edit_that_does_not_validate_is_refused(
    tmp_path: Path, change: dict[str, object], expected: str
) -> None:
    serde = AvroSerde(SchemaCatalog.load())
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(json.dumps(_command() | change))  # JSON is YAML too
    with pytest.raises(DlqQueryError, match=expected):
        edited_value(serde, PostSlackMessage.SCHEMA, fixed)


def test_the_processor_is_known_by_the_app_id_this_environment_gives_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlc.dlq_redrive import processor_group

    monkeypatch.setenv("MLC_PROCESSOR_APP_ID", "run-7-processor")
    with pytest.raises(DlqQueryError, match="the faust processor"):
        check_request(RedriveRequest(group="run-7-processor"), processor_group=processor_group())
    check_request(RedriveRequest(group="run-7-sink"), processor_group=processor_group())


def test_a_schema_is_only_for_an_edit() -> None:
    with pytest.raises(DlqQueryError, match="--schema names the schema of an --edit value"):
        check_request(RedriveRequest(group="a", schema=PostSlackMessage.SCHEMA))
