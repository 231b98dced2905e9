"""SMS and email alerts as the processor shapes them: what they say without a template, SMS
bodies within the rule's segment budget, and emails with a plain-text and a Slack-styled HTML
part, for one alert and for the day's digest."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from events import ChangeType, SupplierInvoiceChanged
from events.commands import Command, SendEmail, SendSms
from processor.digests import Digests, digest_items
from processor.reminders import Reminders
from processor.routing import route_all
from processor.rules import RulesFileError, parse_rules
from processor.schedule_state import MemoryStore
from processor.sms_segments import Encoding, measure

pytestmark = pytest.mark.unit
MakeEvent = Callable[..., SupplierInvoiceChanged]

LONG_VENDOR = "Nordiska Maskin- och Verktygsfabriken i Västra Götaland Aktiebolag " * 4


def sms_rule(target: str, template: str | None = None) -> str:
    extra = f"\n        template: {template!r}" if template else ""
    return f"rules:\n  - name: r\n    targets:\n      - sms: {target}{extra}\n"


def test_an_sms_without_a_template_says_type_id_and_what_changed(make: MakeEvent) -> None:
    rules = parse_rules(sms_rule('{to: ["+46701234567"]}'))
    event = make(change_type=ChangeType.UPDATED, status="Open", approval_status="Pending")
    [sms] = route_all(event, rules)
    assert isinstance(sms, SendSms)
    assert sms.body == (
        "Supplier invoice Invoice:10042 updated: Acme AB, SEK 125,000.00, due 2026-03-31, "
        "status Open, approval Pending"
    )


def test_a_template_may_use_the_summary(make: MakeEvent) -> None:
    rules = parse_rules(sms_rule('{to: ["+46701234567"]}', "{{ entity_id }}: {{ summary }}"))
    [sms] = route_all(make(), rules)
    assert isinstance(sms, SendSms)
    assert sms.body == "Invoice:10042: created: Acme AB, SEK 125,000.00, due 2026-03-31"


def test_an_sms_is_cut_to_the_default_budget_of_two_segments(make: MakeEvent) -> None:
    rules = parse_rules(sms_rule('{to: ["+46701234567"]}'))
    [sms] = route_all(make(supplier_name=LONG_VENDOR), rules)
    assert isinstance(sms, SendSms)
    found = measure(sms.body)
    assert (found.encoding, found.segments) == (Encoding.GSM7, 2)  # å and ä are GSM-7
    assert sms.body.endswith("...")
    assert sms.body.startswith("Supplier invoice Invoice:10042 created: Nordiska")


def test_a_rule_sets_its_own_budget_and_ucs2_is_measured_as_such(make: MakeEvent) -> None:
    rules = parse_rules(sms_rule('{to: ["+46701234567"], max_segments: 1}'))
    [sms] = route_all(make(supplier_name="Łódź Metal " * 20), rules)
    assert isinstance(sms, SendSms)
    found = measure(sms.body)
    assert (found.encoding, found.segments) == (Encoding.UCS2, 1)
    assert found.units <= 70
    assert sms.body.endswith("…")


@pytest.mark.parametrize("segments", [0, 11])
def test_a_budget_outside_one_to_ten_is_a_rules_file_error(segments: int) -> None:
    with pytest.raises(RulesFileError, match="max_segments"):
        parse_rules(sms_rule(f'{{to: ["+46701234567"], max_segments: {segments}}}'))


def first_reminder(event: SupplierInvoiceChanged, target: str, store: MemoryStore) -> Command:
    """The one command of the first daily reminder of a rule with `target` on `event`."""
    observed = datetime(2026, 3, 1, 8, 1, tzinfo=UTC)  # conftest's make_event observes then
    rules = parse_rules(
        "rules:\n  - name: r\n    when: {approval_status: Pending}\n    remind: {every: 1d}\n"
        f"    targets:\n      - {target}\n"
    )
    now = [observed]
    reminders = Reminders(store, clock=lambda: now[0])
    reminders.observe(event, {}, rules, partition=0)
    now[0] = observed + timedelta(days=1)
    [due] = reminders.due(rules)
    [command] = due.commands
    return command


def test_a_reminder_sms_stays_within_the_budget_with_its_prefix(
    make: MakeEvent, store: MemoryStore
) -> None:
    event = make(supplier_name=LONG_VENDOR, approval_status="Pending")
    sms = first_reminder(event, 'sms: {to: ["+46701234567"], max_segments: 1}', store)
    assert isinstance(sms, SendSms)
    assert sms.body.startswith("Reminder: Supplier invoice")
    assert measure(sms.body).segments == 1


EMAIL_RULES = """\
record_links:
  "*": "https://erp.example.com/{company_id}/invoices/{invoice_number}"
rules:
  - name: large
    targets:
      - email: {to: [ap@example.com]}
"""


def test_an_email_carries_plain_text_and_slack_styled_html_of_the_same_facts(
    make: MakeEvent,
) -> None:
    [email] = route_all(make(supplier_name="<b>Bygg & Co</b>"), parse_rules(EMAIL_RULES))
    assert isinstance(email, SendEmail)
    assert email.body.splitlines() == [
        "Supplier invoice 10042 (large)",
        "Supplier invoice Invoice:10042 created: <b>Bygg & Co</b>, SEK 125,000.00, due 2026-03-31",
        "Vendor: <b>Bygg & Co</b>",
        "Amount: SEK 125,000.00",
        "Invoice: 10042",
        "PO reference: PO-7",
        "Due date: 2026-03-31",
        "Status: unknown",
        "Open Supplier invoice 10042 in Visma.net: https://erp.example.com/c1/invoices/10042",
    ]
    html = email.html or ""
    assert html.startswith("<!DOCTYPE html>")
    assert "<b>Bygg" not in html  # every value is escaped
    assert html.count("&lt;b&gt;Bygg &amp; Co&lt;/b&gt;") == 2  # the summary, the Vendor field
    assert "border-left:4px solid #36c5f0" in html  # Slack's message bar
    assert "<strong>Amount</strong><br>SEK 125,000.00" in html
    assert '<a href="https://erp.example.com/c1/invoices/10042"' in html


DIGEST_RULES = """\
rules:
  - name: payments
    when: {min_amount: {SEK: 1}}
    targets:
      - email: {to: [cfo@example.com, ap@example.com]}
        digest: {daily_at: "17:00", timezone: Europe/Stockholm}
"""


def test_the_days_digest_is_one_email_with_a_card_per_item(
    make: MakeEvent, store: MemoryStore
) -> None:
    rules = parse_rules(DIGEST_RULES)
    morning = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    now = [morning]
    digests = Digests(store, clock=lambda: now[0])
    for n in range(3):
        at = morning + timedelta(minutes=n)
        event = make(entity_id=f"Invoice:{n}", reference_number=f"P-{n}",
                     supplier_name=f"Vendor {n}", last_modified=at)  # fmt: skip
        for item in digest_items(event.model_copy(update={"observed_at": at}), {}, rules):
            digests.add(item, partition=0)
    now[0] = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 17:00 in Stockholm
    [due] = asyncio.run(digests.close_due())
    [email] = due.commands  # one email to both recipients, one per day
    assert isinstance(email, SendEmail)
    assert email.to == ["cfo@example.com", "ap@example.com"]
    lines = email.body.splitlines()
    assert lines[0] == "payments: 3 for 2026-03-02"
    assert lines[1] == (
        "• Supplier invoice Invoice:0 created: Vendor 0, SEK 125,000.00, due 2026-03-31"
    )
    assert len(lines) == 4
    html = email.html or ""
    assert html.count("border-left:4px solid #36c5f0") == 3
    assert all(f"<strong>Supplier invoice P-{n}</strong>" in html for n in range(3))
    assert "<strong>payments: 3 for 2026-03-02</strong>" in html


def test_a_reminder_email_says_so_in_both_parts(make: MakeEvent, store: MemoryStore) -> None:
    email = first_reminder(make(approval_status="Pending"), "email: {to: [ap@example.com]}", store)
    assert isinstance(email, SendEmail)
    assert email.subject.startswith("Reminder: ")
    assert email.body.startswith("Reminder: Supplier invoice 10042")
    html = email.html or ""
    assert html.count("<strong>Reminder</strong>") == 1
    assert html.index("<strong>Reminder</strong>") < html.index("<strong>Supplier invoice 10042")
