"""What a rule can see of an event: the same few facts, whichever Visma entity carries them.

Each entity names its money and its people differently (`amount`, `order_total`,
`claim_total`, `payment_amount` ...). Matchers and templates read `Facts` instead, so a rule
written for supplier invoices also reads sensibly on a purchase order. A fact the entity
does not have is None: a matcher on it does not match, and nothing here ever raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

from events import ChangeType, VismaEntityChanged
from events.visma_entities import AMOUNT_FIELDS, PARTY_NAME_FIELDS, REFERENCE_FIELDS

CLOSED_STATUS = frozenset({"closed", "paid", "voided", "cancelled", "canceled", "reversed"})
"""Visma statuses (compared case-insensitively) after which nothing is owed or awaited."""


@dataclass(frozen=True)
class Facts:
    """One event as rules see it, with the enrichment known for it and the day it is judged.

    Derived facts are computed once per event (`cached_property`): 50 rules ask for them.
    """

    event: VismaEntityChanged
    payload: Mapping[str, Any]
    today: date
    enrichment: Mapping[str, str] = field(default_factory=dict)

    @property
    def entity_type(self) -> str:
        return self.event.entity_type

    @property
    def change_type(self) -> ChangeType:
        return self.event.change_type

    @cached_property
    def amount(self) -> Decimal | None:
        value = first_of(self.payload, AMOUNT_FIELDS)
        return value if isinstance(value, Decimal) and value.is_finite() else None

    @cached_property
    def currency(self) -> str | None:
        value = self.payload.get("currency")
        return value.strip().upper() or None if isinstance(value, str) else None

    @cached_property
    def due_date(self) -> date | None:
        value = self.payload.get("due_date")
        return value if isinstance(value, date) else None

    @cached_property
    def closed(self) -> bool:
        """Nothing left to do about the record: a closed status or a balance of zero."""
        status = str(self.payload.get("status") or "").strip().casefold()
        balance = self.payload.get("balance")
        return status in CLOSED_STATUS or (isinstance(balance, Decimal) and balance == 0)

    @cached_property
    def approval_status(self) -> str | None:
        return _text(self.payload.get("approval_status"))

    @cached_property
    def supplier(self) -> str | None:
        """The supplier number: of the document, or of the supplier record itself."""
        if self.entity_type == "supplier":
            return _text(self.payload.get("number"))
        return _text(self.payload.get("supplier_number"))

    @cached_property
    def reference(self) -> str | None:
        return _text(first_of(self.payload, REFERENCE_FIELDS))

    @cached_property
    def party(self) -> str | None:
        """Who the document is from or for: the enriched vendor name wins over the payload."""
        return _text(self.enrichment.get("vendor_name")) or _text(
            first_of(self.payload, PARTY_NAME_FIELDS)
        )

    def lookup(self, name: str) -> str | None:
        """A named value (a dimension such as cost_center): enrichment first, then payload."""
        found = _text(self.enrichment.get(name))
        if found is not None:
            return found
        value = self.payload.get(name)
        return (
            _text(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
        )


def facts_of(
    event: VismaEntityChanged,
    *,
    enrichment: Mapping[str, str] | None = None,
    today: date | None = None,
) -> Facts:
    """Facts of any Visma event; `today` defaults to the day it was observed (replays agree)."""
    return Facts(
        event=event,
        payload=payload_of(event),
        today=today or event.observed_at.date(),
        enrichment=dict(enrichment or {}),
    )


def payload_of(event: VismaEntityChanged) -> Mapping[str, Any]:
    """The entity record of an event as a mapping of Python values; empty for a bare envelope."""
    try:
        name = type(event).payload_field()
    except TypeError:
        return {}
    payload = getattr(event, name, None)
    return dict(payload) if payload is not None else {}


def first_of(payload: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = payload.get(name)
        if value is not None:
            return value
    return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
