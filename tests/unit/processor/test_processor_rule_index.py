"""The routing hot path's precomputation: rules indexed by entity type, conditions bound once.

Both are caches of what the rules file says; these tests pin that they give what the rules
say, in file order, and follow a reload instead of serving the previous rules.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from events import SupplierInvoiceChanged
from processor.matchers import bound, evaluate, matches
from processor.routing import route_all, rules_for
from processor.rules import parse_rules
from processor.rules_facts import facts_of

pytestmark = pytest.mark.unit

MakeEvent = Callable[..., SupplierInvoiceChanged]

RULES = """\
rules:
  - name: both
    when: {entity_type: [purchaseOrder, supplierInvoice]}
    slack: {channel: a}
  - name: orders
    when: {entity_type: purchaseOrder}
    slack: {channel: b}
  - name: invoices
    when: {entity_type: supplierInvoice, min_amount: {SEK: 100}}
    slack: {channel: c}
"""


def test_an_entity_type_sees_only_its_rules_in_file_order() -> None:
    rules = parse_rules(RULES)
    assert [r.name for r in rules_for(rules, "supplierInvoice")] == ["both", "invoices"]
    assert [r.name for r in rules_for(rules, "purchaseOrder")] == ["both", "orders"]
    assert rules_for(rules, "expenseClaim") == []


def test_a_reloaded_rule_set_is_indexed_afresh(make: MakeEvent) -> None:
    first = parse_rules(RULES)
    assert [c.rule for c in route_all(make(), first)] == ["both", "invoices"]
    reloaded = parse_rules(RULES.replace("SEK: 100", "SEK: 999999999"))
    assert [c.rule for c in route_all(make(), reloaded)] == ["both"]
    assert [c.rule for c in route_all(make(), first)] == ["both", "invoices"]


def test_bound_conditions_are_the_configured_ones_in_order(make: MakeEvent) -> None:
    when = parse_rules(RULES).rules[2].when
    assert bound(when) is bound(when)
    facts = facts_of(make(currency="SEK", amount="50"))
    assert list(evaluate(when, facts)) == [
        ("entity_type", True), ("change_type", True), ("min_amount", False),
    ]  # fmt: skip
    assert not matches(when, facts)
    assert matches(when, facts_of(make(currency="SEK", amount="100")))
