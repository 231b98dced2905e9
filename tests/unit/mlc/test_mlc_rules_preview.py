"""`mlc rules preview` without Kafka: the comparison over a hand-built history, the window's
--since, the text and JSON, and the one-line errors."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from chassis.audit import AUDIT_SCHEMA
from events import ChangeType, SupplierInvoice, SupplierInvoiceChanged
from mlc.cli import main
from mlc.preview_compare import compare, judged_events
from mlc.preview_history import History, Routed, take_audit
from mlc.rules_preview import PreviewInputError, as_json, parse_since, preview_of, render, run
from processor.routing import route_all
from processor.rules import parse_rules

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
RUNNING = """\
rules:
  - name: large-invoices
    when: {min_amount: {SEK: 50000}}
    slack: {channel: ap-large}
  - name: large-invoices-sms
    when: {min_amount: {SEK: 50000}}
    targets:
      - sms: {to: ["+46701110001"]}
"""


def invoice(
    number: int, amount: str, *, tenant: str = "t1", minute: int = 0
) -> SupplierInvoiceChanged:
    modified = datetime(2026, 12, 1, 8, minute, tzinfo=UTC)
    entity_id = f"Invoice:{number}"
    return SupplierInvoiceChanged(
        event_id=f"{tenant}/c1/supplierInvoice/{entity_id}@{minute}",
        tenant_id=tenant, company_id="c1", entity_id=entity_id, change_type=ChangeType.CREATED,
        last_modified=modified, observed_at=modified + timedelta(seconds=30),
        invoice=SupplierInvoice(document_type="Invoice", reference_number=str(number),
                                supplier_name="Acme AB", currency="SEK", amount=Decimal(amount),
                                due_date=date(2026, 12, 31)),
    )  # fmt: skip


def history_sent_by(rules_yaml: str, events: list[SupplierInvoiceChanged]) -> History:
    """A history in which the running rules routed and sent every command of `events`."""
    history = History(events=list(events))
    for event in events:
        for command in route_all(event, parse_rules(rules_yaml)):
            history.routed.append(
                Routed(event.event_id, command.command_id, f"rule {command.rule} -> {command.key}")
            )
            history.sent.add(command.command_id)
            history.commands[command.command_id] = command
    return history


def skip(event_id: str, detail: str) -> tuple[str, dict[str, str]]:
    """The processor's audit record of an event it did not route."""
    return AUDIT_SCHEMA, {"stage": "skipped", "service": "processor", "event_id": event_id,
                          "detail": detail}  # fmt: skip


def raised(threshold: int) -> str:
    return RUNNING.replace(
        "when: {min_amount: {SEK: 50000}}\n    slack",
        f"when: {{min_amount: {{SEK: {threshold}}}}}\n    slack",
    )


def test_a_raised_threshold_shows_each_message_no_longer_sent_on_its_channel_only() -> None:
    events = [invoice(1, "60000"), invoice(2, "120000"), invoice(3, "200000"), invoice(4, "900")]
    history = history_sent_by(RUNNING, events)

    preview = compare(history, parse_rules(raised(150000)))

    assert preview.events == 4
    assert sorted(m.entity for m in preview.removed) == [
        "t1/c1/supplierInvoice/Invoice:1",
        "t1/c1/supplierInvoice/Invoice:2",
    ]
    assert {str(m.target) for m in preview.removed} == {"#ap-large"}
    assert preview.added == []
    counts = {str(t.target): (t.would, t.sent) for t in preview.targets}
    assert counts == {"#ap-large": (1, 3), "SMS +46701110001": (3, 3)}
    assert preview.differences() == ["-2 to #ap-large"]


def test_a_lowered_threshold_and_a_new_target_show_as_additions() -> None:
    events = [invoice(1, "30000"), invoice(2, "60000")]
    history = history_sent_by(RUNNING, events)
    rules = RUNNING.replace("SEK: 50000}}\n    targets", "SEK: 20000}}\n    targets").replace(
        '["+46701110001"]', '["+46701110001", "+46701110009"]'
    )

    preview = compare(history, parse_rules(rules))

    assert preview.differences() == ["+1 SMS to +46701110001", "+2 SMS to +46701110009"]
    assert preview.removed == []


def test_a_reworded_template_or_renamed_rule_is_no_difference() -> None:
    history = history_sent_by(RUNNING, [invoice(1, "60000")])
    reworded = RUNNING.replace("name: large-invoices\n", "name: big-ones\n").replace(
        "channel: ap-large}", "channel: ap-large}\n    template: 'Big: {amount}'"
    )

    preview = compare(history, parse_rules(reworded))

    assert preview.added == preview.removed == []
    assert preview.differences() == []


def test_unsent_routings_are_not_counted_as_sent() -> None:
    history = history_sent_by(RUNNING, [invoice(1, "60000")])
    history.sent.clear()

    preview = compare(history, parse_rules(RUNNING))

    assert preview.routed_unsent == 2
    assert preview.differences() == ["+1 to #ap-large", "+1 SMS to +46701110001"]


def test_versions_the_processor_did_not_judge_are_left_out() -> None:
    first, again = invoice(1, "60000", minute=0), invoice(1, "60000", minute=0)
    skipped = invoice(2, "70000", minute=5)
    history = History(events=[first, again, skipped])
    duplicate = "duplicate: last_modified 1 <= processed 1"
    take_audit(
        history, [skip(skipped.event_id, duplicate), skip(first.event_id, "no rule matched")]
    )

    assert judged_events(history) == [first]
    assert compare(history, parse_rules(RUNNING)).not_judged == 2


def test_audit_join_keeps_sends_of_every_sink_and_routings_of_the_processor_only() -> None:
    history = History()
    sent = {"stage": "sent", "service": "twilio-sink", "command_id": "c1", "event_id": None}
    routed = {"stage": "routed", "service": "processor", "command_id": "c1", "event_id": "e1"}
    elsewhere = {**routed, "service": "somebody-else", "command_id": "c2"}
    other_schema = {"stage": "sent", "service": "x", "command_id": "c3"}
    take_audit(history, [
        (AUDIT_SCHEMA, sent), (AUDIT_SCHEMA, {**routed, "detail": "rule r -> +4670"}),
        (AUDIT_SCHEMA, elsewhere), ("io.mlconnector.other.Thing", other_schema),
    ])  # fmt: skip
    assert history.sent == {"c1"}
    assert history.routed == [Routed("e1", "c1", "rule r -> +4670")]


def test_a_sent_command_gone_from_its_topic_is_named_from_the_routing_audit() -> None:
    history = history_sent_by(RUNNING, [invoice(1, "60000")])
    history.commands.clear()

    preview = compare(history, parse_rules(RUNNING))

    assert sorted(str(m.target) for m in preview.removed) == [
        "key +46701110001",
        "key default/ap-large",
    ]


def test_tenant_filter_and_unknown_tenant() -> None:
    history = history_sent_by(RUNNING, [invoice(1, "60000"), invoice(2, "60000", tenant="t2")])
    rules = parse_rules(raised(150000))

    only = preview_of(history, rules, tenant="t2", since=NOW)
    assert [m.entity for m in only.removed] == ["t2/c1/supplierInvoice/Invoice:2"]
    with pytest.raises(
        PreviewInputError, match=r"unknown tenant 'acme': .*\(tenants in the window: t1, t2\)"
    ):
        preview_of(history, rules, tenant="acme", since=NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2w", NOW - timedelta(weeks=2)),
        ("2026-11-30T08:00Z", datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
        ("2026-11-30T09:00+01:00", datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
        ("2026-11-30T08:00", datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
        ("2026-11-30", datetime(2026, 11, 30, tzinfo=UTC)),
    ],
)
def test_since_is_a_duration_back_or_a_time(text: str, expected: datetime) -> None:
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["7", "7x", "-3d", "yesterday", "2026-13-01", "2026-12-04"])
def test_a_bad_or_future_since_is_refused(text: str) -> None:
    with pytest.raises(PreviewInputError, match=r"^--since .*(is not a time|is in the future)"):
        parse_since(text, now=NOW)


def test_text_lists_targets_differences_and_with_details_each_message() -> None:
    history = history_sent_by(RUNNING, [invoice(1, "60000"), invoice(3, "200000")])
    preview = compare(history, parse_rules(raised(150000)))

    text = render(preview, rules_file=Path("new.yaml"), since=NOW, details=True).splitlines()

    assert (
        text[0] == "preview of new.yaml on the Visma events since 2026-12-03 09:00:00 UTC: 2 judged"
    )
    assert text[1].split() == ["TARGET", "WOULD", "SEND", "SENT", "CHANGE"]
    assert text[2].split() == ["#ap-large", "1", "2", "-1"]
    assert text[3].split() == ["SMS", "+46701110001", "2", "2", "0"]
    assert text[4] == "differences: -1 to #ap-large"
    assert text[5].startswith(
        "  - #ap-large  t1/c1/supplierInvoice/Invoice:1  rule large-invoices: sent, would not be"
    )
    assert text[-1] == "nothing was sent and nothing was written"
    shown = as_json(preview, rules_file=Path("new.yaml"), since=NOW)
    assert shown["differences"] == ["-1 to #ap-large"]
    assert [(m["change"], m["kind"], m["target"]) for m in shown["messages"]] == [
        ("-", "slack", "#ap-large")
    ]


def test_a_bad_rules_file_is_one_line_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "new.yaml"
    bad.write_text(RUNNING.replace("SEK: 50000}}\n    slack", "SEK: lots}}\n    slack"))
    args = argparse.Namespace(
        file=bad, since="7d", tenant=None, topic_prefix=None, details=False, json=False
    )

    assert run(args, now=NOW) == 2

    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("mlc rules preview: new.yaml line 3: rules[0].when.min_amount.SEK")
    assert (
        run(argparse.Namespace(**{**vars(args), "file": tmp_path / "missing.yaml"}), now=NOW) == 2
    )
    assert capsys.readouterr().err.count("\n") == 1


def test_a_bad_since_is_one_line_before_kafka_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "new.yaml"
    rules.write_text(RUNNING)

    assert main(["rules", "preview", str(rules), "--since", "last week"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("mlc rules preview: --since 'last week' is not a time")


def test_help_has_a_worked_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["rules", "preview", "--help"])
    out = capsys.readouterr().out
    assert "mlc rules preview new-rules.yaml --since 2d --details" in out
    assert "differences: -3 to #ap-large, -2 SMS to +46701110001" in out
