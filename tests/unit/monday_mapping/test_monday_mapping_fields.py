"""The fields a mapping may name are every field a CreateMondayItem can carry: each Visma
payload's scalar fields and what the processor derives (a mapping naming a field the
processor sends must never be refused as unknown)."""

from __future__ import annotations

import pytest

from monday_sink.mapping import VISMA_FIELDS, FieldKind
from monday_sink.mapping.fields import title_candidates
from processor.item_fields import DERIVED_FIELDS

pytestmark = pytest.mark.unit


def test_every_derived_field_of_the_processor_is_mappable() -> None:
    assert DERIVED_FIELDS.issubset(VISMA_FIELDS)


def test_payload_fields_have_the_kind_of_their_type() -> None:
    assert VISMA_FIELDS["amount"] is FieldKind.NUMBER  # Decimal
    assert VISMA_FIELDS["due_date"] is FieldKind.DATE  # date
    assert VISMA_FIELDS["supplier_name"] is FieldKind.TEXT
    assert VISMA_FIELDS["active"] is FieldKind.FLAG  # an account's bool
    assert VISMA_FIELDS["email"] is FieldKind.EMAIL
    assert VISMA_FIELDS["days_overdue"] is FieldKind.NUMBER
    assert VISMA_FIELDS["record_url"] is FieldKind.URL
    assert "lines" not in VISMA_FIELDS  # no cell holds a list of lines


def test_a_title_names_its_own_field_before_an_alias() -> None:
    assert title_candidates("  Total ")[0] == "total"
    assert title_candidates("AMOUNT")[:2] == ("amount", "order_total")
    assert title_candidates("Due_Date") == ("due_date",)
    assert title_candidates("Receipt") == ()
