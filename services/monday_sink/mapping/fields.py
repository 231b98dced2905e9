"""The Visma fields a board column can show, what kind of value each is, and the titles a
person gives the column that shows it.

The fields are the snake_case scalar fields of every Visma event payload (walked from
`events.visma_entities.VISMA_EVENTS`, so a new payload field is mappable at once), a few
fields the processor derives for every record (`processor.item_fields`): `visma_id` (the
record's identity, kept in the board's "Visma ID" column), `reference`, `party`, `total`,
`record_url`, `days_overdue` (for collections) and a few more. A field's kind decides which
column types may hold it: an amount fits a numbers column, a supplier name does not.
"""

from __future__ import annotations

import re
import types
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Union, get_args, get_origin

from pydantic import BaseModel

from events.visma_entities import AMOUNT_FIELDS, VISMA_EVENTS

__all__ = [
    "COLUMN_TYPES",
    "VISMA_FIELDS",
    "VISMA_ID",
    "FieldKind",
    "fits",
    "normalised",
    "title_candidates",
]

VISMA_ID = "visma_id"
"""The pseudo-field of the record's identity; every board maps it to exactly one column."""


class FieldKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    FLAG = "flag"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"


COLUMN_TYPES: dict[str, frozenset[FieldKind]] = {
    "text": frozenset(FieldKind),
    "long_text": frozenset(FieldKind),
    "numbers": frozenset({FieldKind.NUMBER}),
    "date": frozenset({FieldKind.DATE}),
    "status": frozenset({FieldKind.TEXT, FieldKind.FLAG}),
    "dropdown": frozenset({FieldKind.TEXT, FieldKind.FLAG}),
    "link": frozenset({FieldKind.URL}),
    "email": frozenset({FieldKind.EMAIL}),
    "phone": frozenset({FieldKind.PHONE}),
}
"""The column types the connector writes, and the kinds of field each may hold."""


def fits(column_type: str, field: str) -> bool:
    """Whether a column of that type can hold the field's values."""
    return VISMA_FIELDS[field] in COLUMN_TYPES.get(column_type, frozenset())


def _kind(name: str, annotation: object) -> FieldKind | None:
    """The kind of a payload field, None for what no column shows (lists of lines)."""
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        annotation = inner[0] if len(inner) == 1 else str
    if name in ("email", "phone"):
        return FieldKind(name)
    if annotation in (Decimal, int, float):
        return FieldKind.NUMBER
    if annotation in (date, datetime):
        return FieldKind.DATE
    if annotation is bool:
        return FieldKind.FLAG
    if annotation is str:
        return FieldKind.TEXT
    return None


def _visma_fields() -> dict[str, FieldKind]:
    fields: dict[str, FieldKind] = {  # what the processor derives (processor.item_fields)
        VISMA_ID: FieldKind.TEXT,
        "company_id": FieldKind.TEXT,
        "entity_type": FieldKind.TEXT,
        "entity_id": FieldKind.TEXT,
        "label": FieldKind.TEXT,
        "change_type": FieldKind.TEXT,
        "reference": FieldKind.TEXT,
        "party": FieldKind.TEXT,
        "total": FieldKind.NUMBER,
        "record_url": FieldKind.URL,
        "days_overdue": FieldKind.NUMBER,
    }
    for event in VISMA_EVENTS.values():
        payload = event.model_fields[event.payload_field()].annotation
        assert isinstance(payload, type)
        assert issubclass(payload, BaseModel)
        for name, info in payload.model_fields.items():
            kind = _kind(name, info.annotation)
            if kind is not None:
                fields.setdefault(name, kind)
    return fields


VISMA_FIELDS: dict[str, FieldKind] = _visma_fields()
"""Every field a mapping may name, with its kind."""

_DATES = (
    "invoice_date",
    "order_date",
    "transaction_date",
    "claim_date",
    "receipt_date",
    "application_date",
)
_ALIASES: dict[str, tuple[str, ...]] = {
    "visma": (VISMA_ID,),
    "invoice": ("reference_number", "ref_number", "reference"),
    "invoice number": ("reference_number", "ref_number"),
    "invoice no": ("reference_number", "ref_number"),
    "invoice nr": ("reference_number", "ref_number"),
    "reference": ("reference_number", "ref_number"),
    "ref": ("reference_number", "ref_number", "reference"),
    "order": ("order_number", "po_reference", "reference"),
    "po": ("order_number", "po_reference"),
    "po number": ("order_number", "po_reference"),
    "purchase order": ("order_number", "po_reference"),
    "supplier": ("supplier_name", "party"),
    "vendor": ("supplier_name", "party"),
    "customer": ("customer_name", "party"),
    "amount": (*AMOUNT_FIELDS, "total"),
    "total": AMOUNT_FIELDS,
    "sum": ("total", *AMOUNT_FIELDS),
    "document": ("record_url",),
    "link": ("record_url",),
    "visma link": ("record_url",),
    "date": _DATES,
    "due": ("due_date",),
    "notes": ("description",),
    "approval": ("approval_status",),
    "vat": ("vat_amount", "vat_total"),
    "overdue": ("days_overdue",),
    "e-mail": ("email",),
    "contact e-mail": ("email",),
}
"""Titles people give columns, beyond the field's own name, and the fields they show (the
first a record has wins: an "Amount" column shows an invoice's amount and an order's total)."""

_SPACES = re.compile(r"[\s_]+")


def normalised(title: str) -> str:
    """A title or field name as compared: case, spacing and underscores do not count."""
    return _SPACES.sub(" ", title).strip().casefold()


def _by_title() -> dict[str, tuple[str, ...]]:
    """Each normalised title with its fields: the field of that name first, then aliases."""
    by_title: dict[str, tuple[str, ...]] = {}
    for field in VISMA_FIELDS:
        by_title[normalised(field)] = (*by_title.get(normalised(field), ()), field)
    for title, fields in _ALIASES.items():
        known = by_title.get(title, ())
        by_title[title] = known + tuple(f for f in fields if f in VISMA_FIELDS and f not in known)
    return by_title


_BY_TITLE = _by_title()


def title_candidates(title: str) -> tuple[str, ...]:
    """The fields a column of that title shows, best first (the field of that very name)."""
    return _BY_TITLE.get(normalised(title), ())
