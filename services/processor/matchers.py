"""One small pure function per condition a rule can set; a rule matches when all hold.

Each matcher takes its condition as written in the rules file and the event's `Facts`, and
answers True or False. A fact the event does not have (no amount, no due date, no vendor
category yet) is never a match and never an error. Text comparisons ignore case and
surrounding space, since finance teams type `pending` for Visma's `Pending`; supplier
numbers and tenant ids compare exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Set
from datetime import timedelta
from decimal import Decimal

from events import ChangeType
from processor.rules_facts import Facts
from processor.rules_schema import BaseAmount, Due, When


def entity_type(wanted: Set[str], facts: Facts) -> bool:
    return facts.entity_type in wanted


def change_type(wanted: Set[ChangeType], facts: Facts) -> bool:
    return facts.change_type in wanted


def min_amount(thresholds: Mapping[str, Decimal], facts: Facts) -> bool:
    """amount >= the threshold of its currency; a currency the rule does not list never matches."""
    threshold = thresholds.get(facts.currency or "")
    return threshold is not None and facts.amount is not None and facts.amount >= threshold


def max_amount(limits: Mapping[str, Decimal], facts: Facts) -> bool:
    """amount < the limit of its currency, so `max` of one band is the `min` of the next."""
    limit = limits.get(facts.currency or "")
    return limit is not None and facts.amount is not None and facts.amount < limit


def amount_in_base(band: BaseAmount, facts: Facts) -> bool:
    """The amount converted with the configured rate lies in [min, max)."""
    converted = in_base(band, facts)
    if converted is None:
        return False
    return (band.min is None or converted >= band.min) and (
        band.max is None or converted < band.max
    )


def in_base(band: BaseAmount, facts: Facts) -> Decimal | None:
    rate = band.rate(facts.currency or "")
    return None if rate is None or facts.amount is None else facts.amount * rate


def approval_status(wanted: Set[str], facts: Facts) -> bool:
    return _one_of(facts.approval_status, wanted)


def supplier(wanted: Set[str], facts: Facts) -> bool:
    return facts.supplier is not None and facts.supplier in wanted


def tenant(wanted: Set[str], facts: Facts) -> bool:
    return facts.event.tenant_id in wanted


def vendor_category(wanted: Set[str], facts: Facts) -> bool:
    return _one_of(facts.enrichment.get("vendor_category"), wanted)


def dimension(wanted: Mapping[str, Set[str]], facts: Facts) -> bool:
    """Every named dimension (cost_center, project ...) has one of its listed values."""
    return all(_one_of(facts.lookup(name), values) for name, values in wanted.items())


def due(condition: Due, facts: Facts) -> bool:
    """Overdue: due before today. Within N days: due between today and today + N, inclusive."""
    due_date = facts.due_date
    if due_date is None:
        return False
    if condition.overdue is not None:
        return (due_date < facts.today) == condition.overdue
    days = condition.within_days or 0
    return facts.today <= due_date <= facts.today + timedelta(days=days)


def _one_of(value: str | None, wanted: Set[str]) -> bool:
    if value is None:
        return False
    folded = value.strip().casefold()
    return any(folded == w.strip().casefold() for w in wanted)


Check = Callable[[When, Facts], bool]

CHECKS: tuple[tuple[str, Callable[[When], object], Check], ...] = (
    ("entity_type", lambda w: w.entity_types, lambda w, f: entity_type(w.entity_types, f)),
    ("change_type", lambda w: w.change_types, lambda w, f: change_type(w.change_types, f)),
    ("min_amount", lambda w: w.min_amount, lambda w, f: min_amount(w.min_amount or {}, f)),
    ("max_amount", lambda w: w.max_amount, lambda w, f: max_amount(w.max_amount or {}, f)),
    ("amount_in_base", lambda w: w.amount_in_base,
     lambda w, f: w.amount_in_base is not None and amount_in_base(w.amount_in_base, f)),
    ("approval_status", lambda w: w.approval_status,
     lambda w, f: approval_status(w.approval_status or frozenset(), f)),
    ("supplier", lambda w: w.supplier, lambda w, f: supplier(w.supplier or frozenset(), f)),
    ("tenant", lambda w: w.tenant, lambda w, f: tenant(w.tenant or frozenset(), f)),
    ("vendor_category", lambda w: w.vendor_category,
     lambda w, f: vendor_category(w.vendor_category or frozenset(), f)),
    ("dimension", lambda w: w.dimension, lambda w, f: dimension(w.dimension or {}, f)),
    ("due", lambda w: w.due, lambda w, f: w.due is not None and due(w.due, f)),
)  # fmt: skip
"""(name, the condition as configured, the check): unset conditions are skipped."""


Bound = tuple[tuple[str, Callable[[Facts], bool]], ...]
_BOUND: dict[int, tuple[When, Bound]] = {}
_MAX_BOUND = 4096
"""Rules reloads leave old conditions behind; past this many, the cache starts afresh."""


def bound(when: When) -> Bound:
    """The configured conditions of `when`, each bound to its setting, once per loaded rule.

    Every event is judged by every rule: finding which conditions are set (and building the
    entity type set) per event was most of the matching time.
    """
    hit = _BOUND.get(id(when))
    if hit is not None and hit[0] is when:
        return hit[1]
    if len(_BOUND) >= _MAX_BOUND:
        _BOUND.clear()
    checks = tuple(
        (name, _bind(name, check, when))
        for name, configured, check in CHECKS
        if configured(when) is not None
    )
    _BOUND[id(when)] = (when, checks)
    return checks


def _bind(name: str, check: Check, when: When) -> Callable[[Facts], bool]:
    if name == "entity_type":
        wanted = when.entity_types
        return lambda facts: facts.entity_type in wanted
    return lambda facts: check(when, facts)


def evaluate(when: When, facts: Facts) -> Iterator[tuple[str, bool]]:
    """Each configured condition's name and verdict, in a fixed order (lazily, for `all`)."""
    for name, check in bound(when):
        yield name, check(facts)


def matches(when: When, facts: Facts) -> bool:
    return all(check(facts) for _, check in bound(when))


def first_failure(when: When, facts: Facts) -> str | None:
    """The name of the first condition that does not hold, or None if the rule matches."""
    return next((name for name, passed in evaluate(when, facts) if not passed), None)
