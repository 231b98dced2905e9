"""Routing: thresholds per currency, one command per matching rule, stable ids and text."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from events import ChangeType, SupplierInvoiceChanged
from events.slack import OnChange
from processor.routing import command_id, format_amount, route
from processor.rules import RuleSet, RulesFileError, parse_rules

MakeEvent = Callable[..., SupplierInvoiceChanged]

pytestmark = pytest.mark.unit


def channels(make: MakeEvent, event_kwargs: dict[str, str], rules: RuleSet) -> list[str]:
    return [c.channel for c in route(make(**event_kwargs), rules)]


@pytest.mark.parametrize(
    ("currency", "amount", "expected"),
    [
        ("SEK", "125000", ["ap-large", "ap-approvals"]),
        ("SEK", "50000", ["ap-large", "ap-approvals"]),  # exactly at the threshold
        ("SEK", "49999.9999", ["ap-approvals"]),
        ("SEK", "10000.00", ["ap-approvals"]),
        ("SEK", "9999.99", []),
        ("NOK", "50000", ["ap-large", "ap-approvals"]),
        ("DKK", "40000", ["ap-large", "ap-approvals"]),
        ("DKK", "7999", []),
        ("EUR", "5000", ["ap-large", "ap-approvals"]),
        ("EUR", "4999.99", ["ap-approvals"]),
        ("USD", "9000000", []),  # a currency no rule lists never matches
        ("sek", "125000", ["ap-large", "ap-approvals"]),
    ],
)
def test_thresholds_per_currency(currency: str, amount: str, expected: list[str],
                                 rules: RuleSet, make: MakeEvent) -> None:  # fmt: skip
    assert channels(make, {"currency": currency, "amount": amount}, rules) == expected


def test_rule_without_threshold_matches_every_amount_but_not_other_entities(
    make: MakeEvent,
) -> None:
    rules = parse_rules("rules:\n  - name: all\n    slack: {channel: c}\n")
    assert len(route(make(currency="XYZ", amount="0"), rules)) == 1
    other = make().model_copy(update={"entity_type": "purchaseOrder"})
    assert route(other, rules) == []


def test_deleted_invoices_are_not_posted_by_default(rules: RuleSet, make: MakeEvent) -> None:
    assert route(make(change_type=ChangeType.DELETED), rules) == []
    assert len(route(make(change_type=ChangeType.UPDATED), rules)) == 2


def test_command_ids_are_deterministic_and_distinct(rules: RuleSet, make: MakeEvent) -> None:
    event = make()
    first, second = route(event, rules), route(event, rules)
    assert first == second
    expected = hashlib.sha256(f"{event.event_id}|large-invoices|default/ap-large".encode())
    assert first[0].command_id == expected.hexdigest()
    assert first[0].command_id == command_id(event.event_id, "large-invoices", "default/ap-large")
    assert len({c.command_id for c in first}) == 2
    newer = make(last_modified=event.last_modified.replace(minute=5))
    assert route(newer, rules)[0].command_id != first[0].command_id


def test_command_fields_and_text(rules: RuleSet, make: MakeEvent) -> None:
    event = make()
    large, approvals = route(event, rules)
    assert large.key == "default/ap-large"
    assert (large.tenant_id, large.rule, large.source_event_id) == ("t1", "large-invoices",
                                                                   event.event_id)  # fmt: skip
    assert (large.entity_type, large.entity_id) == ("supplierInvoice", event.key)
    assert large.created_at == event.observed_at
    for text in ("Acme AB", "SEK 125,000.00", "10042", "PO-7", "2026-03-31"):
        assert text in large.text
    assert approvals.text == "Acme AB sent SEK 125,000.00 (10042)"  # the rule's own template


def test_blocks_are_a_mrkdwn_section_with_escaped_values(rules: RuleSet, make: MakeEvent) -> None:
    event = make(supplier_name="Smith & <Sons>", po_reference=None, due_date=None)
    blocks_json = route(event, rules)[0].blocks_json
    assert blocks_json is not None
    [section] = json.loads(blocks_json)
    assert section["type"] == "section"
    texts = [f["text"] for f in section["fields"]]
    assert all(f["type"] == "mrkdwn" for f in section["fields"])
    assert "*Vendor*\nSmith &amp; &lt;Sons&gt;" in texts
    assert "*Amount*\nSEK 125,000.00" in texts
    assert "*PO reference*\nnone" in texts
    assert "*Due date*\nnot set" in texts


def test_missing_supplier_name_falls_back_to_number(rules: RuleSet, make: MakeEvent) -> None:
    event = make(supplier_name=None, supplier_number="S-99", due_date=date(2026, 1, 2))
    assert "S-99" in route(event, rules)[0].text


@pytest.mark.parametrize(
    ("amount", "text"),
    [("125000", "SEK 125,000.00"), ("0.005", "SEK 0.01"), ("1234567.8912", "SEK 1,234,567.89")],
)
def test_format_amount(amount: str, text: str) -> None:
    assert format_amount("SEK", Decimal(amount)) == text


def test_slack_messages_follow_the_document_unless_the_rule_asks_for_a_thread_post(
    make: MakeEvent,
) -> None:
    rules = parse_rules(
        "rules:\n"
        "  - name: all\n    slack: {channel: ap}\n"
        "  - name: raised\n    targets:\n"
        "      - slack: {channel: ap-large, on_change: thread}\n"
    )
    commands = {c.rule: c for c in route(make(), rules)}
    assert commands["all"].on_change is OnChange.UPDATE  # default: update its message in place
    assert commands["raised"].on_change is OnChange.THREAD
    with pytest.raises(RulesFileError, match="on_change"):
        parse_rules("rules:\n  - name: r\n    slack: {channel: c, on_change: sometimes}\n")
