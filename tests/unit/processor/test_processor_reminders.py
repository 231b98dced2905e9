"""Reminders with an in-memory store and a clock the test moves: no sleeping through periods."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from schedule_kit import Clock

from events import PostSlackMessage, SupplierInvoiceChanged
from events.commands import SendSms
from events.slack import OnChange
from processor.reminders import Reminders, ReminderState, reminder_id, reminder_key
from processor.rules import RuleSet, RulesFileError, parse_rules
from processor.schedule_state import MemoryStore

pytestmark = pytest.mark.unit
MakeEvent = Callable[..., SupplierInvoiceChanged]

OBSERVED = datetime(2026, 3, 1, 8, 1, tzinfo=UTC)  # conftest's make_event observes then
OVERDUE = {"due_date": date(2026, 2, 15), "approval_status": "Pending", "status": "Open"}
RULES = """\
rules:
  - name: overdue-pending
    when:
      approval_status: Pending
      due: {overdue: true}
    remind: {every: 1d}
    targets:
      - slack: {channel: ap-overdue}
      - sms: {to: ["+46701234567"]}
      - email: {to: [ap@example.com]}
        digest: {daily_at: "17:00"}
      - visma_writer: {action: sendtoapproval}
"""


@pytest.fixture
def rules() -> RuleSet:
    return parse_rules(RULES)


@pytest.fixture
def clock() -> Clock:
    return Clock(OBSERVED)


@pytest.fixture
def reminders(store: MemoryStore, clock: Clock) -> Reminders:
    return Reminders(store, clock=clock)


def remind(reminders: Reminders, rules: RuleSet) -> list[str]:
    """Sends what is due like the timer does: the command ids, each period marked sent."""
    ids = []
    for due in reminders.due(rules):
        ids += [command.command_id for command in due.commands]
        reminders.sent(due)
    return ids


def test_a_match_is_reminded_once_per_period_to_the_targets_people_read(
    reminders: Reminders, rules: RuleSet, clock: Clock, make: MakeEvent
) -> None:
    event = make(**OVERDUE)
    reminders.observe(event, {}, rules, partition=3)
    assert remind(reminders, rules) == []  # the match itself was just posted
    clock.now = OBSERVED + timedelta(hours=23, minutes=59)
    assert remind(reminders, rules) == []
    clock.now = OBSERVED + timedelta(days=1)
    [due] = reminders.due(rules)
    assert due.period == 1
    slack, sms = due.commands  # not the digest target, not the Visma writer
    assert isinstance(slack, PostSlackMessage)
    assert isinstance(sms, SendSms)
    assert slack.text.startswith("Reminder: ")
    assert slack.on_change is OnChange.POST  # a reminder is a new message, not a new version
    assert json.loads(slack.blocks_json or "[]")[0]["type"] == "context"
    assert sms.body.startswith("Reminder: ")
    assert slack.created_at == OBSERVED + timedelta(days=1)
    assert slack.entity_id == event.key
    reminders.sent(due)
    assert remind(reminders, rules) == []  # once per period
    clock.now = OBSERVED + timedelta(days=1, hours=20)
    assert remind(reminders, rules) == []
    clock.now = OBSERVED + timedelta(days=2, seconds=1)
    second = remind(reminders, rules)
    assert len(second) == 2
    assert not set(second) & {slack.command_id, sms.command_id}


def test_periods_missed_while_down_give_one_reminder_not_a_burst(
    reminders: Reminders, rules: RuleSet, clock: Clock, make: MakeEvent
) -> None:
    reminders.observe(make(**OVERDUE), {}, rules, partition=0)
    clock.now = OBSERVED + timedelta(days=5, hours=1)
    [due] = reminders.due(rules)
    assert due.period == 5
    reminders.sent(due)
    assert reminders.due(rules) == []


def test_ids_are_entity_rule_target_and_period_so_a_resend_repeats_them(
    store: MemoryStore, rules: RuleSet, clock: Clock, make: MakeEvent
) -> None:
    event = make(**OVERDUE)
    Reminders(store, clock=clock).observe(event, {}, rules, partition=0)
    clock.now = OBSERVED + timedelta(days=1)
    first = Reminders(store, clock=clock).due(rules)
    # A restart before the period was marked sent: a new instance over the recovered table.
    recovered = MemoryStore()
    recovered.data = json.loads(json.dumps(store.data))  # what the changelog carried
    [repeat] = Reminders(recovered, clock=clock).due(rules)
    assert [c.command_id for c in repeat.commands] == [c.command_id for c in first[0].commands]
    assert repeat.commands == first[0].commands
    state = ReminderState.model_validate(store.data[reminder_key(event.key, "overdue-pending")])
    assert first[0].commands[0].command_id == reminder_id(state, 1, "default/ap-overdue")
    assert first[0].commands[1].command_id == reminder_id(state, 1, "sms:+46701234567")
    assert reminder_id(state, 1, "x") != reminder_id(state, 2, "x")


@pytest.mark.parametrize(
    "settled",
    [
        {"approval_status": "Approved"},
        {"approval_status": "approved"},
        {"status": "Closed"},
        {"status": "Paid"},
        {"balance": Decimal("0")},
    ],
    ids=["approved", "approved-lowercase", "closed", "paid", "zero-balance"],
)
def test_reminders_stop_once_a_later_version_is_approved_or_paid(
    reminders: Reminders,
    rules: RuleSet,
    clock: Clock,
    make: MakeEvent,
    store: MemoryStore,
    settled: dict[str, object],
) -> None:
    reminders.observe(make(**OVERDUE), {}, rules, partition=1)
    clock.now = OBSERVED + timedelta(days=1)
    assert len(remind(reminders, rules)) == 2
    later = make(**(OVERDUE | settled), last_modified=OBSERVED + timedelta(hours=30))
    reminders.observe(later, {}, rules, partition=1)
    assert store.data == {}
    for day in range(2, 6):
        clock.now = OBSERVED + timedelta(days=day)
        assert remind(reminders, rules) == []


def test_an_unsettled_later_version_keeps_the_series_and_is_what_is_reminded(
    reminders: Reminders, rules: RuleSet, clock: Clock, make: MakeEvent
) -> None:
    reminders.observe(make(**OVERDUE), {}, rules, partition=0)
    clock.now = OBSERVED + timedelta(days=1)
    first = remind(reminders, rules)
    changed = make(**OVERDUE, amount="777", last_modified=OBSERVED + timedelta(hours=30))
    reminders.observe(changed, {}, rules, partition=0)
    clock.now = OBSERVED + timedelta(days=2)
    [due] = reminders.due(rules)
    assert due.period == 2
    assert "SEK 777.00" in due.commands[0].text  # type: ignore[union-attr]
    assert not {c.command_id for c in due.commands} & set(first)


def test_an_invoice_whose_due_date_moved_waits_and_is_reminded_when_overdue_again(
    reminders: Reminders, rules: RuleSet, clock: Clock, make: MakeEvent
) -> None:
    reminders.observe(make(**OVERDUE), {}, rules, partition=0)
    extended = OVERDUE | {"due_date": date(2026, 3, 5)}
    reminders.observe(make(**extended, last_modified=OBSERVED + timedelta(hours=1)), {}, rules,
                      partition=0)  # fmt: skip
    clock.now = OBSERVED + timedelta(days=2)  # 3 March: not overdue
    assert remind(reminders, rules) == []
    clock.now = OBSERVED + timedelta(days=5)  # 6 March: overdue again
    assert len(remind(reminders, rules)) == 2


def test_a_rejected_invoice_no_longer_matches_and_its_reminder_is_dropped(
    reminders: Reminders, rules: RuleSet, clock: Clock, make: MakeEvent, store: MemoryStore
) -> None:
    reminders.observe(make(**OVERDUE), {}, rules, partition=0)
    rejected = OVERDUE | {"approval_status": "Rejected"}
    reminders.observe(make(**rejected, last_modified=OBSERVED + timedelta(hours=1)), {}, rules,
                      partition=0)  # fmt: skip
    clock.now = OBSERVED + timedelta(days=1)
    assert remind(reminders, rules) == []
    assert store.data == {}


def test_no_reminder_for_what_never_matched_or_for_a_rule_removed_on_reload(
    reminders: Reminders, rules: RuleSet, clock: Clock, make: MakeEvent, store: MemoryStore
) -> None:
    reminders.observe(make(due_date=date(2026, 4, 1), approval_status="Pending"), {}, rules,
                      partition=0)  # fmt: skip
    assert store.data == {}
    reminders.observe(make(**OVERDUE, entity_id="Invoice:2"), {}, rules, partition=0)
    assert len(store.data) == 1
    clock.now = OBSERVED + timedelta(days=1)
    reloaded = parse_rules("rules:\n  - name: other\n    slack: {channel: x}\n")
    assert reminders.due(reloaded) == []
    assert store.data == {}


def test_a_v1_slack_rule_can_remind(reminders: Reminders, clock: Clock, make: MakeEvent) -> None:
    rules = parse_rules(
        "rules:\n  - name: v1\n    when: {due: {overdue: true}}\n    remind: {every: 12h}\n"
        "    slack: {channel: ap}\n    template: 'Pay {vendor}'\n"
    )
    reminders.observe(make(**OVERDUE), {}, rules, partition=0)
    clock.now = OBSERVED + timedelta(hours=12)
    [due] = reminders.due(rules)
    [command] = due.commands
    assert command.text == "Reminder: Pay Acme AB"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("remind", "where"),
    [
        ("{every: 1x}", "line 5: rules[0].remind.every"),
        ("{every: 0d}", "line 5: rules[0].remind.every"),
        ("{often: 1d}", "line 5: rules[0].remind"),
    ],
)
def test_a_bad_period_is_reported_with_line_and_field(remind: str, where: str) -> None:
    text = f"rules:\n  - name: r\n    when: {{}}\n    slack: {{channel: c}}\n    remind: {remind}\n"
    with pytest.raises(RulesFileError, match=where.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(text, source="rules.yaml")


def test_remind_without_a_target_people_read_is_rejected() -> None:
    text = """\
rules:
  - name: r
    remind: {every: 1d}
    targets:
      - visma_writer: {action: release}
"""
    with pytest.raises(RulesFileError, match=r"rules.yaml line 2: rules\[0\]: .*remind needs"):
        parse_rules(text, source="rules.yaml")
