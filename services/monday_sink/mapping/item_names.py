"""An item's name from a record's fields: a template such as `{reference_number} {supplier_name}`.

Placeholders name Visma fields; `{a|b}` takes the first of them the record has, so one
template serves a board holding both invoices (`reference_number`) and orders
(`order_number`). Nothing else is interpreted (no format spec, no attribute access): a
template from a hand-edited file can only pick fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from events.visma_entities import PARTY_NAME_FIELDS, REFERENCE_FIELDS
from monday_sink.mapping.fields import VISMA_ID

__all__ = ["DEFAULT_ITEM_NAME", "placeholders", "render_name"]

DEFAULT_ITEM_NAME = (
    "{" + "|".join((*REFERENCE_FIELDS, "entity_id")) + "} {" + "|".join(PARTY_NAME_FIELDS) + "}"
)
"""The record's number, then whose it is: `INV-1042 Nordic Timber AB`."""

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SPACES = re.compile(r"\s+")


def placeholders(template: str) -> list[list[str]]:
    """The alternatives of each placeholder, in order: `{a|b} {c}` -> [[a, b], [c]]."""
    return [
        [name.strip() for name in m.group(1).split("|")] for m in _PLACEHOLDER.finditer(template)
    ]


def render_name(template: str, fields: Mapping[str, str]) -> str:
    """The name with each placeholder replaced by the first field the record has (or
    nothing); the record's Visma id when nothing at all is left."""

    def first(match: re.Match[str]) -> str:
        for name in match.group(1).split("|"):
            value = fields.get(name.strip(), "").strip()
            if value:
                return value
        return ""

    name = _SPACES.sub(" ", _PLACEHOLDER.sub(first, template)).strip()
    return name or fields.get(VISMA_ID, "").strip()
