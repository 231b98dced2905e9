"""The wizard's first proposal: title match first, then type, and nothing for the rest."""

from __future__ import annotations

import pytest
from mapping_boards import board, procurement_board

from monday_sink.mapping import MappingError, bind
from monday_sink.mapping.proposal import ProposedBy, proposal_spec, propose

pytestmark = pytest.mark.unit


def test_the_seeded_board_is_proposed_by_title_and_the_receipt_column_is_left_alone() -> None:
    pairs = {pair.column.id: pair for pair in propose(procurement_board())}

    assert pairs["text_visma_id"].fields == ("visma_id",)
    assert pairs["text_invoice"].fields[0] == "reference_number"
    assert pairs["text_supplier"].fields == ("supplier_name",)
    assert pairs["numbers_amount"].fields[:2] == ("amount", "order_total")
    assert pairs["date_due"].fields == ("due_date",)
    assert pairs["link_document"].fields == ("record_url",)
    assert {pairs[c].by for c in ("text_invoice", "date_due")} == {ProposedBy.TITLE}
    assert pairs["status_receipt"].fields == ()
    assert pairs["status_receipt"].by is ProposedBy.NOTHING
    assert pairs["dropdown_dimension"].fields == ()


def test_auto_generated_columns_are_proposed_by_type_each_field_once() -> None:
    auto = board(
        ("text", "Text", "text"),
        ("text0", "Text 0", "text"),
        ("numbers", "Numbers", "numbers"),
        ("date4", "Date 4", "date"),
        ("status", "Status", "status"),
        ("text9", "Warehouse notes", "text"),
    )

    pairs = propose(auto)

    assert [(p.column.id, p.fields, p.by) for p in pairs] == [
        ("text", ("visma_id",), ProposedBy.TYPE),
        ("text0", ("reference",), ProposedBy.TYPE),
        ("numbers", ("total",), ProposedBy.TYPE),
        ("date4", ("due_date",), ProposedBy.TYPE),
        ("status", ("status",), ProposedBy.TITLE),  # "Status" names the field itself
        ("text9", (), ProposedBy.NOTHING),  # a person's title: not ours to guess
    ]


def test_a_title_match_comes_before_a_type_guess_for_the_same_field() -> None:
    mixed = board(("text", "Text", "text"), ("text_id", "Visma id", "text"))

    pairs = {pair.column.id: pair.fields for pair in propose(mixed)}

    assert pairs == {"text_id": ("visma_id",), "text": ("reference",)}


def test_the_proposal_written_as_a_table_binds_to_the_same_pairs() -> None:
    procurement = procurement_board()
    pairs = propose(procurement)

    bound = bind(procurement, proposal_spec(procurement, pairs))

    assert {c.id: c.fields for c in bound.columns} == {
        p.column.id: p.fields for p in pairs if p.fields
    }


def test_a_board_where_nothing_is_proposed_is_a_mapping_error_not_a_crash() -> None:
    odd = board(("text_x", "Warehouse notes", "text"), name="Odd")

    with pytest.raises(MappingError, match=r"board 'Odd' \(42\): no column shows a Visma field"):
        proposal_spec(odd, propose(odd))
