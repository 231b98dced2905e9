"""The wizard's questions, answered from a script: keep, change, clear, help, refuse."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from tests.unit.monday_mapping.mapping_boards import procurement_board

from mlc.monday_map_dialogue import Dialogue, describe
from monday_sink.mapping.proposal import Pair, ProposedBy, propose

pytestmark = pytest.mark.unit

SAMPLE = {"reference_number": "INV-7", "supplier_reference": "SUP-7", "amount": "10.00"}


class Script:
    """Answers prompts in order and keeps what was asked."""

    def __init__(self, answers: list[str]) -> None:
        self._answers: Iterator[str] = iter(answers)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return next(self._answers)


def _by_id(pairs: list[Pair]) -> dict[str, tuple[str, ...]]:
    return {pair.column.id: pair.fields for pair in pairs}


def test_enter_keeps_a_field_changes_and_dash_clears() -> None:
    out = io.StringIO()
    answers = [""] * 12
    answers[4] = "-"  # 'Currency' left alone
    answers[10] = "supplier_reference|description"  # 'Notes'
    script = Script(answers)

    pairs = Dialogue(ask=script, out=out, sample=SAMPLE).review(propose(procurement_board()))

    by_id = _by_id(pairs)
    assert by_id["text_currency"] == ()
    assert by_id["long_text_notes"] == ("supplier_reference", "description")
    assert by_id["text_invoice"][0] == "reference_number"  # kept
    assert (
        script.prompts[1]
        == "[2/12] 'Invoice ' (text) [reference_number | ref_number | reference]: "
    )
    assert pairs[10].by is ProposedBy.PERSON


def test_a_field_moved_to_another_column_leaves_the_first() -> None:
    out = io.StringIO()
    script = Script(["", "supplier_name"] + [""] * 10)

    pairs = Dialogue(ask=script, out=out, sample=SAMPLE).review(propose(procurement_board()))

    assert _by_id(pairs)["text_invoice"] == ("supplier_name",)
    assert _by_id(pairs)["text_supplier"] == ()
    assert "(supplier_name no longer on ' supplier name')" in out.getvalue()


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ("amout", "unknown Visma field 'amout' (did you mean 'amount'?)"),
        ("supplier_name", "a numbers column cannot show 'supplier_name' (a text field)"),
    ],
)
def test_a_wrong_answer_is_explained_and_asked_again(answer: str, said: str) -> None:
    out = io.StringIO()
    script = Script([answer, "order_total"])
    pairs = propose(procurement_board())

    pairs = Dialogue(ask=script, out=out, sample=SAMPLE).review_one(pairs, 3)  # 'AMOUNT'

    assert said in out.getvalue()
    assert len(script.prompts) == 2
    assert _by_id(pairs)["numbers_amount"] == ("order_total",)


def test_help_lists_the_fields_that_fit_with_the_preview_values() -> None:
    out = io.StringIO()
    script = Script(["?", ""])

    Dialogue(ask=script, out=out, sample=SAMPLE).review_one(propose(procurement_board()), 3)

    shown = out.getvalue()
    assert "fields a numbers column can show" in shown
    assert "amount                     '10.00'" in shown
    assert "days_overdue" in shown
    assert "supplier_name" not in shown  # a text field does not fit a numbers column


def test_the_table_shows_each_column_and_how_it_was_proposed() -> None:
    out = io.StringIO()
    board = procurement_board()

    describe(board, propose(board), out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "Board 'Procurement' (1000000001), 12 columns:"
    assert "'Due  date' (date)" in lines[6]
    assert lines[6].endswith("<- due_date   (by title)")
    assert re.search(r"'Receipt' \(status\) +<- -$", lines[7])
