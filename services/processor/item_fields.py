"""What a Monday item carries of its Visma record: the identity and the fields, as text.

A board's columns are the customer's own (any titles, any types), so the processor does not
decide what goes where: it sends the whole record as display strings by snake_case field
name, and the sink's column mapping picks and renders the ones the board has. Everything
here is a plain function of the facts, so the same event on the same day always gives the
same fields (the command id and the sink's replay check depend on it).

Derived fields sit next to the payload's, under names no Visma payload uses (a unit test
holds that): who the record is (`visma_id`, `company_id`, `entity_type`, `entity_id`,
`label`), what happened (`change_type`), the few facts every record type names differently
(`reference`, `party`, `total`), the link back (`record_url`) and, for collections,
`days_overdue` of a customer invoice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from events.monday import VismaRecordRef
from processor.rules_facts import Facts

MONEY_PLACES = Decimal("0.01")
OVERDUE_ENTITIES = frozenset({"customerInvoice"})
"""Records that get `days_overdue`: customer invoices, what a collections board follows."""
DERIVED_FIELDS = frozenset(
    {
        "visma_id",
        "company_id",
        "entity_type",
        "entity_id",
        "label",
        "change_type",
        "reference",
        "party",
        "total",
        "record_url",
        "days_overdue",
    }
)


def visma_id(facts: Facts) -> str:
    """`company/entityType/entity id` (`VismaRecordRef`): the record in every version, unique
    within a tenant (the tenant owns the board, so users do not read it on every item)."""
    event = facts.event
    return str(VismaRecordRef(event.company_id, event.entity_type, event.entity_id))


def item_fields(facts: Facts, *, label: str, record_url: str | None = None) -> dict[str, str]:
    """The payload's scalar fields as display strings, then the derived ones."""
    fields = {
        name: display(value)
        for name, value in facts.payload.items()
        if not isinstance(value, list | tuple | Mapping)  # lines: not one cell's worth
    }
    event = facts.event
    fields |= {
        "visma_id": visma_id(facts),
        "company_id": event.company_id,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "label": label,
        "change_type": str(event.change_type),
        "reference": facts.reference or event.entity_id,
        "party": facts.party or "",
        "total": display(facts.amount),
    }
    if record_url is not None:
        fields["record_url"] = record_url
    if facts.entity_type in OVERDUE_ENTITIES:
        fields["days_overdue"] = days_overdue(facts)
    return fields


def days_overdue(facts: Facts) -> str:
    """Whole days past the due date on `facts.today` while the invoice is open: `0` before
    or on the due date and once it is settled (paid, closed, zero balance), empty without
    a due date."""
    due = facts.due_date
    if due is None:
        return ""
    if facts.closed or facts.today <= due:
        return "0"
    return str((facts.today - due).days)


def display(value: object) -> str:
    """One value as a board shows it and a numbers column accepts it: no grouping, no
    currency, no exponent; money with at least two decimals; dates ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return ""
        exact = value.normalize()
        exponent = exact.as_tuple().exponent
        places = isinstance(exponent, int) and exponent < -2
        return f"{exact if places else value.quantize(MONEY_PLACES):f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()
