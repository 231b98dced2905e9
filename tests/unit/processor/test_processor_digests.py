"""Daily digests with an in-memory store and a clock the test moves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from schedule_kit import Clock

from events import PostSlackMessage, SupplierInvoiceChanged
from events.commands import SendEmail
from processor.digests import (
    Digests,
    DueDigest,
    digest_day,
    digest_items,
    send_time,
)
from processor.routing import command_id, route_all
from processor.rules import RuleSet, RulesFileError, parse_rules
from processor.rules_schema import Digest
from processor.schedule_state import MemoryStore

pytestmark = pytest.mark.unit
MakeEvent = Callable[..., SupplierInvoiceChanged]

DAY = date(2026, 3, 2)
MORNING = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Oslo
SEND = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 17:00 in Oslo (winter time)
RULES = """\
rules:
  - name: payments
    when: {min_amount: {SEK: 1000}}
    targets:
      - email: {to: [ap@example.com]}
        digest: {daily_at: "17:00", timezone: Europe/Oslo}
        template: "{{ vendor }} {{ money(amount, currency) }}"
      - slack: {channel: ap-now}
"""


@pytest.fixture
def rules() -> RuleSet:
    return parse_rules(RULES)


@pytest.fixture
def clock() -> Clock:
    return Clock(MORNING)


@pytest.fixture
def digests(store: MemoryStore, clock: Clock) -> Digests:
    return Digests(store, clock=clock)


def observed(make: MakeEvent, n: int, at: datetime, **fields: object) -> SupplierInvoiceChanged:
    """Invoice n, changed and observed at `at`."""
    event = make(entity_id=f"Invoice:{n}", supplier_name=f"Vendor {n}", last_modified=at, **fields)
    return event.model_copy(update={"observed_at": at})


def collect(digests: Digests, events: list[SupplierInvoiceChanged], rules: RuleSet) -> None:
    for event in events:
        for item in digest_items(event, {}, rules):
            digests.add(item, partition=4)


def send_due(digests: Digests) -> list[DueDigest]:
    """Like the timer: close what is due, 'send' it, mark it sent."""
    due = asyncio.run(digests.close_due())
    for digest in due:
        digests.sent(digest)
    return due


def test_a_digest_target_gets_no_message_per_match_only_the_others_do(
    rules: RuleSet, make: MakeEvent
) -> None:
    [command] = route_all(observed(make, 1, MORNING), rules)
    assert isinstance(command, PostSlackMessage)
    assert command.channel == "ap-now"


def test_one_digest_per_target_and_day_with_every_item_once(
    digests: Digests, rules: RuleSet, make: MakeEvent, clock: Clock
) -> None:
    events = [observed(make, n, MORNING + timedelta(minutes=n)) for n in range(5)]
    collect(digests, events, rules)
    collect(digests, events[:3], rules)  # redelivered: the processor saw them again
    clock.now = SEND - timedelta(seconds=1)
    assert send_due(digests) == []
    clock.now = SEND
    [due] = send_due(digests)
    [email] = due.commands
    assert isinstance(email, SendEmail)
    assert email.to == ["ap@example.com"]
    for n in range(5):
        assert email.body.count(f"Vendor {n} SEK 125,000.00") == 1
    assert email.body.count("•") == 5
    assert email.subject == f"payments: 5 for {DAY}"
    assert email.command_id == command_id(f"digest/t1/{DAY}", "payments", "email:ap@example.com")
    assert email.created_at == SEND
    clock.now = SEND + timedelta(hours=1)
    assert send_due(digests) == []  # once per day


def test_an_entity_appears_once_in_its_newest_version(
    digests: Digests, rules: RuleSet, make: MakeEvent, clock: Clock
) -> None:
    first = observed(make, 1, MORNING)
    newer = observed(make, 1, MORNING + timedelta(hours=1), amount="2000")
    collect(digests, [newer, first], rules)  # out of order: the newer version still wins
    clock.now = SEND
    [due] = send_due(digests)
    body = due.commands[0].body  # type: ignore[union-attr]
    assert "SEK 2,000.00" in body
    assert "125,000.00" not in body


def test_an_empty_day_sends_nothing(digests: Digests, rules: RuleSet, make: MakeEvent,
                                    clock: Clock) -> None:  # fmt: skip
    collect(digests, [observed(make, 1, MORNING, amount="5")], rules)  # below the threshold
    for day in range(3):
        clock.now = SEND + timedelta(days=day)
        assert send_due(digests) == []


def test_after_the_send_time_items_go_to_the_next_day(
    rules: RuleSet, make: MakeEvent, digests: Digests, clock: Clock
) -> None:
    evening = SEND + timedelta(minutes=1)
    [item] = digest_items(observed(make, 1, evening), {}, rules)
    assert item.day == DAY + timedelta(days=1)
    collect(digests, [observed(make, 2, MORNING), observed(make, 1, evening)], rules)
    clock.now = SEND
    [today] = send_due(digests)
    assert "Vendor 2" in today.commands[0].body
    assert "Vendor 1" not in today.commands[0].body
    clock.now = SEND + timedelta(days=1)
    [tomorrow] = send_due(digests)
    assert tomorrow.bucket.day == DAY + timedelta(days=1)
    assert "Vendor 1" in tomorrow.commands[0].body  # type: ignore[union-attr]


def test_a_repeat_after_sending_is_dropped_and_a_late_item_goes_to_the_next_day(
    digests: Digests, rules: RuleSet, make: MakeEvent, clock: Clock
) -> None:
    sent_early = observed(make, 1, MORNING)
    collect(digests, [sent_early], rules)
    clock.now = SEND
    [first] = send_due(digests)
    late = observed(make, 2, MORNING + timedelta(hours=2))  # processed after the send
    collect(digests, [sent_early, late], rules)
    clock.now = SEND + timedelta(days=1)
    [second] = send_due(digests)
    bodies = [first.commands[0].body, second.commands[0].body]  # type: ignore[union-attr]
    assert "".join(bodies).count("Vendor 1") == 1
    assert "".join(bodies).count("Vendor 2") == 1
    assert "Vendor 2" in bodies[1]
    assert first.commands[0].command_id != second.commands[0].command_id


def test_a_restart_between_closing_and_sending_resends_the_same_digest(
    store: MemoryStore, rules: RuleSet, make: MakeEvent, clock: Clock
) -> None:
    digests = Digests(store, clock=clock)
    collect(digests, [observed(make, n, MORNING) for n in range(3)], rules)
    clock.now = SEND
    [before] = asyncio.run(digests.close_due())  # closed, then the worker died: not marked sent
    recovered = MemoryStore()
    recovered.data = json.loads(json.dumps(store.data))  # what the changelog carried
    restarted = Digests(recovered, clock=clock)
    collect(restarted, [observed(make, 9, MORNING)], rules)  # arrives after the close
    [again] = asyncio.run(restarted.close_due())
    assert again.commands == before.commands  # same id, same items: the sink drops it


def test_sent_buckets_are_forgotten_after_a_week(
    store: MemoryStore, rules: RuleSet, make: MakeEvent, clock: Clock
) -> None:
    digests = Digests(store, clock=clock)
    collect(digests, [observed(make, 1, MORNING)], rules)
    clock.now = SEND
    send_due(digests)
    assert len(store.data) == 1
    clock.now = SEND + timedelta(days=8)
    send_due(digests)
    assert store.data == {}


def test_a_digest_template_gets_the_list_of_items(
    digests: Digests, make: MakeEvent, clock: Clock
) -> None:
    rules = parse_rules("""\
rules:
  - name: pay
    targets:
      - slack: {channel: ap-digest}
        digest:
          daily_at: "17:00"
          timezone: Europe/Oslo
          template: >-
            {{ count }} on {{ date(day) }}:{% for i in items %}
            {{ i.vendor }}={{ i.text }};{% endfor %}
""")  # fmt: skip
    collect(digests, [observed(make, n, MORNING + timedelta(minutes=n)) for n in (1, 2)], rules)
    clock.now = SEND
    [due] = send_due(digests)
    [slack] = due.commands
    assert isinstance(slack, PostSlackMessage)
    assert slack.channel == "ap-digest"
    assert slack.text.startswith(f"2 on {DAY}: Vendor 1=New supplier invoice from Vendor 1")
    assert slack.text.endswith("; Vendor 2=" + slack.text.split("; Vendor 2=")[1])


def test_send_times_follow_the_time_zone_and_daylight_saving() -> None:
    digest = Digest.model_validate({"daily_at": "17:00", "timezone": "Europe/Oslo"})
    assert send_time(date(2026, 1, 15), digest) == datetime(2026, 1, 15, 16, 0, tzinfo=UTC)
    assert send_time(date(2026, 7, 15), digest) == datetime(2026, 7, 15, 15, 0, tzinfo=UTC)
    assert digest_day(datetime(2026, 7, 15, 14, 59, tzinfo=UTC), digest) == date(2026, 7, 15)
    assert digest_day(datetime(2026, 7, 15, 15, 0, tzinfo=UTC), digest) == date(2026, 7, 16)


@pytest.mark.parametrize(
    ("target", "where"),
    [
        ('{slack: {channel: c}, digest: {daily_at: "25:00"}}',
         r"rules\[0\]\.targets\[0\]\.digest\.daily_at"),
        ('{slack: {channel: c}, digest: {daily_at: "17:00", timezone: Mars/Olympus}}',
         r"rules\[0\]\.targets\[0\]\.digest\.timezone: .*unknown time zone"),
        ('{slack: {channel: c}, digest: {daily_at: "17:00", template: "{{ vendor }}"}}',
         r"rules\[0\]\.targets\[0\]\.digest\.template: .*unknown template name 'vendor'"),
        ('{visma_writer: {action: release}, digest: {daily_at: "17:00"}}',
         r"rules\[0\]\.targets\[0\]: .*a digest goes to slack, sms, email, monday"),
    ],
)  # fmt: skip
def test_a_bad_digest_is_reported_with_line_and_field(target: str, where: str) -> None:
    text = f"rules:\n  - name: r\n    targets:\n      - {target}\n"
    with pytest.raises(RulesFileError, match=r"rules.yaml line 4: " + where):
        parse_rules(text, source="rules.yaml")


def test_the_documented_reminder_and_digest_example_loads() -> None:
    example = Path(__file__).resolve().parents[3] / "services/processor/rules.example.yaml"
    lines = example.read_text().splitlines()
    start = lines.index("#  - name: overdue-pending")
    block = [line[1:] for line in lines[start:] if line.startswith("#  ")]
    rules = parse_rules("rules:\n" + "\n".join(block))
    [rule] = rules.rules
    assert rule.remind is not None
    assert rule.remind.every == timedelta(days=1)
    [digest_target] = rule.digest_targets
    assert digest_target.digest is not None
    assert digest_target.digest.timezone == "Europe/Oslo"
