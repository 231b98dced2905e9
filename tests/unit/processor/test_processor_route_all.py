"""route_all: every target of every matching rule becomes a command with its own stable id;
templates render with the event's facts and fall back to the default message on failure."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from events import PostSlackMessage, SupplierInvoiceChanged
from events.command_topics import COMMAND_TOPICS
from events.commands import ApplyVismaAction, CreateMondayItem, SendEmail, SendSms, SyncToAirbase
from mlc.rules_cli import rules_test
from processor.routing import command_id, route, route_all
from processor.rules import RuleSet, parse_rules
from processor.templates import money

pytestmark = pytest.mark.unit

MakeEvent = Callable[..., SupplierInvoiceChanged]
EXAMPLES = Path(__file__).resolve().parents[3] / "services" / "processor" / "examples"

ALL_TARGETS = """\
rules:
  - name: everyone
    targets:
      - slack: {channel: ap}
        template: "{{ vendor }} {{ money(amount, currency) }} due {{ date(due_date, '%d/%m') }}"
      - sms: {to: ["+46701234567", "+4798765432"]}
      - email:
          to: [ap@example.com, cfo@example.com]
          subject: "{{ enrichment.vendor_category }}: {{ reference }}"
        template: "Approver {{ enrichment.approver_email }}"
      - monday: {board: 42, group: new}
      - airbase: {}
      - visma_writer: {action: comment}
        template: "{{ payload.po_reference.lower() }} / {{ rule }}"
"""


@pytest.fixture
def everyone() -> RuleSet:
    return parse_rules(ALL_TARGETS)


def test_every_target_becomes_a_command_with_a_distinct_stable_id(
    make: MakeEvent, everyone: RuleSet
) -> None:
    event = make()
    commands = route_all(event, everyone, enrichment={"vendor_category": "IT"})
    kinds = [type(c) for c in commands]
    assert kinds == [PostSlackMessage, SendSms, SendSms, SendEmail, CreateMondayItem,
                     SyncToAirbase, ApplyVismaAction]  # fmt: skip
    assert len({c.command_id for c in commands}) == len(commands)
    assert commands[1].command_id == command_id(event.event_id, "everyone", "sms:+46701234567")
    assert commands == route_all(event, everyone, enrichment={"vendor_category": "IT"})
    assert all(c.source_event_id == event.event_id and c.entity_id == event.key for c in commands)
    assert all(type(c) in COMMAND_TOPICS for c in commands)
    assert route(event, everyone) == [commands[0]]  # route() keeps only Slack


def test_templates_render_facts_enrichment_and_helpers(make: MakeEvent, everyone: RuleSet) -> None:
    enrichment = {"vendor_category": "IT", "approver_email": "anna@example.com"}
    slack, sms, _, email, monday, airbase, visma = route_all(make(), everyone,
                                                             enrichment=enrichment)  # fmt: skip
    assert isinstance(slack, PostSlackMessage)
    assert slack.text == "Acme AB SEK 125,000.00 due 31/03"
    assert slack.blocks_json is None  # a templated message is the message
    assert isinstance(sms, SendSms)
    assert sms.body == (
        "Supplier invoice Invoice:10042 created: Acme AB, SEK 125,000.00, due 2026-03-31"
    )  # no template: the event type, the entity id and a summary of the change
    assert isinstance(email, SendEmail)
    assert email.subject == "IT: 10042"
    assert email.body.splitlines()[:3] == [
        "Supplier invoice 10042 (everyone)",
        "Approver anna@example.com",
        "Vendor: Acme AB",
    ]
    assert isinstance(monday, CreateMondayItem)
    assert monday.item_name == "Supplier invoice 10042: SEK 125,000.00"
    assert isinstance(airbase, SyncToAirbase)
    assert json.loads(airbase.payload_json)["amount"] == "125000"
    assert isinstance(visma, ApplyVismaAction)
    assert (visma.comment, visma.action, visma.company_id) == ("po-7 / everyone", "comment", "c1")


def test_a_failing_template_falls_back_to_the_default_and_logs_the_rule(
    make: MakeEvent, everyone: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="processor.routing"):
        commands = route_all(make(po_reference=None), everyone)  # no enrichment either
    email, visma = commands[3], commands[6]
    assert isinstance(email, SendEmail)
    assert isinstance(visma, ApplyVismaAction)
    assert email.subject == "Supplier invoice 10042: SEK 125,000.00"
    assert email.body.splitlines()[1] == (
        "Supplier invoice Invoice:10042 created: Acme AB, SEK 125,000.00, due 2026-03-31"
    )  # an alert's default, not the Slack wording
    assert visma.comment.startswith("New supplier invoice from Acme AB")
    failures = [r for r in caplog.records if r.getMessage().startswith("template failed")]
    assert len(failures) == 3
    assert all("rule 'everyone'" in r.__dict__["error"] for r in failures)
    assert any("vendor_category" in r.__dict__["error"] for r in failures)


def test_v1_rules_keep_their_text_and_ids(rules: RuleSet, make: MakeEvent) -> None:
    event = make()
    [large, approvals] = route_all(event, rules)
    assert isinstance(large, PostSlackMessage)
    assert isinstance(approvals, PostSlackMessage)
    assert large.command_id == command_id(event.event_id, "large-invoices", "default/ap-large")
    assert approvals.text == "Acme AB sent SEK 125,000.00 (10042)"
    assert large.blocks_json is not None


def test_today_is_injectable_and_defaults_to_the_observed_day(make: MakeEvent) -> None:
    rules = parse_rules("rules:\n  - name: late\n    when: {due: {overdue: true}}\n"
                        "    targets: [{sms: {to: ['+46701']}}]\n")  # fmt: skip
    event = make(due_date=date(2026, 3, 1))  # observed 2026-03-01: due today, not overdue
    assert route_all(event, rules) == []
    assert len(route_all(event, rules, today=date(2026, 3, 2))) == 1


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(None, "SEK", "unknown amount"), ("1e40", "SEK", "SEK 1e40"), ("3", "", "3.00")],
)
def test_money_never_raises(amount: str | None, currency: str, text: str) -> None:
    assert money(amount, currency) == text


def test_rules_test_shows_matches_failures_and_messages(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        code = rules_test(EXAMPLES / "rules.yaml", event=EXAMPLES / "supplier-invoice.json",
                          enrichment=EXAMPLES / "enrichment.json", out=stream)  # fmt: skip
    text = out.read_text()
    assert code == 0
    assert "MATCH     large-invoices-to-approvers" in text
    assert "text: :rotating_light: Acme AB EUR 6,250.00, due 2026-03-04" in text
    assert "to: +46701234567" in text
    assert "segments: 1 (GSM-7, 37 units)" in text  # "Acme AB: EUR 6,250.00 awaits approval"
    assert "subject: Approve 10042 (EUR 6,250.00)" in text
    assert "body: Acme AB invoice 10042 due 04 Mar" in text
    assert "no match  payments-to-airbase: entity_type does not hold" in text
    assert "no match  procurement-board: tenant does not hold" in text  # another tenant's board
    assert "\n2 of 6 rules match\n" in text  # then which targets have no sink deployed


def test_rules_test_without_enrichment_and_later_today(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        rules_test(EXAMPLES / "rules.yaml", event=EXAMPLES / "supplier-invoice.json",
                   today=date(2026, 3, 20), out=stream)  # fmt: skip
    assert "no match  logistics-due-soon: vendor_category does not hold" in out.read_text()


@pytest.mark.parametrize(
    ("event_text", "message"),
    [('{"entity_type": "nope"}', "entity_type must be one of"),
     ('{"entity_type": "supplierInvoice", "event_id": 1}', "event_id: Input should be"),
     ("[1,", "line 1: not valid JSON")],
)  # fmt: skip
def test_rules_test_reports_a_bad_sample(tmp_path: Path, event_text: str, message: str) -> None:
    sample = tmp_path / "event.json"
    sample.write_text(event_text)
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        assert rules_test(EXAMPLES / "rules.yaml", event=sample, out=stream) == 2
    assert message in out.read_text()
