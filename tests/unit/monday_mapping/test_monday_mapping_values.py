"""Values in each column type's own JSON, checked against the sandbox's monday columns
(which follow monday's column-value reference), and records whose values do not fit."""

from __future__ import annotations

import json

import pytest
from mapping_boards import Brd, Col, procurement_board

from monday_sink.mapping import BoardSpec, MatchBy, RecordValueError, bind
from monday_sink.mapping.values import labels_of
from sandbox.monday.columns import Column as SandboxColumn
from sandbox.monday.columns import parse_value, render_text

pytestmark = pytest.mark.unit

LABELS = {"status": ["Open", "Closed"], "dropdown": ["Sales", "Ops"]}
KINDS = ("text", "numbers", "date", "status", "dropdown", "long_text", "link", "email", "phone")


def _column(kind: str) -> Col:
    sandbox = SandboxColumn(f"{kind}_1", kind.title(), kind, LABELS.get(kind, []))
    return Col(sandbox.id, sandbox.title, kind, sandbox.settings_str())


EVERY_TYPE = Brd("42", "Every type", tuple(_column(kind) for kind in KINDS))
TABLE = BoardSpec(
    board="42",
    match=MatchBy.TABLE,
    columns={
        "visma_id": "text_1",
        "amount": "numbers_1",
        "due_date": "date_1",
        "status": "status_1",
        "department": "dropdown_1",
        "description": "long_text_1",
        "record_url": "link_1",
        "email": "email_1",
        "phone": "phone_1",
    },
    phone_country="FI",
)
RECORD = {
    "amount": "-12.5",
    "due_date": "2026-04-30",
    "status": "Open",
    "department": "Ops",
    "description": "two\nlines",
    "record_url": "https://example.com/doc/7",
    "email": "ap@example.com",
    "phone": "+358401234567",
}


def test_each_column_type_gets_its_own_json_which_monday_accepts() -> None:
    values = bind(EVERY_TYPE, TABLE).render(RECORD, visma_id="c1/supplier/7")

    assert values == {
        "text_1": "c1/supplier/7",
        "numbers_1": "-12.5",  # numbers as a string
        "date_1": {"date": "2026-04-30"},
        "status_1": {"label": "Open"},
        "dropdown_1": {"labels": ["Ops"]},
        "long_text_1": {"text": "two\nlines"},
        "link_1": {"url": "https://example.com/doc/7", "text": "https://example.com/doc/7"},
        "email_1": {"email": "ap@example.com", "text": "ap@example.com"},
        "phone_1": {"phone": "+358401234567", "countryShortName": "FI"},
    }
    texts = {}
    for column in EVERY_TYPE.columns:  # the simulator parses each as monday would
        sandbox = SandboxColumn(column.id, column.title, column.type, LABELS.get(column.type, []))
        sent = json.loads(json.dumps(values[column.id]))
        texts[column.type] = render_text(sandbox, parse_value(sandbox, sent, create_labels=False))
    assert texts["numbers"] == "-12.5"
    assert texts["status"] == "Open"
    assert texts["dropdown"] == "Ops"
    assert texts["date"] == "2026-04-30"


def test_a_timestamp_goes_in_a_date_column_with_its_utc_time() -> None:
    values = bind(EVERY_TYPE, TABLE).render({"due_date": "2026-03-01T10:15:00+01:00"})

    assert values["date_1"] == {"date": "2026-03-01", "time": "09:15:00"}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("amount", "12,50", "not a number"),
        ("amount", "NaN", "not a finite number"),
        ("due_date", "31.03.2026", "not an ISO date"),
        ("status", "Paid", "'Paid' is not one of the column's (Closed, Open)"),
        ("department", "Ops, Legal", "'Legal' is not one of the column's (Ops, Sales)"),
        ("email", "nobody", "not an email address"),
    ],
)
def test_a_value_that_does_not_fit_is_refused_naming_board_column_and_field(
    field: str, value: str, reason: str
) -> None:
    bound = bind(EVERY_TYPE, TABLE)

    with pytest.raises(RecordValueError) as refused:
        bound.render(RECORD | {field: value})

    message = str(refused.value)
    assert "board 'Every type' (42)" in message
    assert f"({TABLE.columns[field]}, " in message
    assert f"Visma field {field!r}" in message
    assert reason in message


def test_a_missing_label_goes_through_when_the_mapping_lets_monday_create_it() -> None:
    spec = TABLE.model_copy(update={"create_labels_if_missing": True})

    bound = bind(EVERY_TYPE, spec)

    assert bound.render(RECORD | {"status": "Paid"})["status_1"] == {"label": "Paid"}
    assert bound.create_labels_if_missing


def test_a_field_the_record_lacks_leaves_its_column_alone() -> None:
    bound = bind(procurement_board(), BoardSpec(board="1000000001"))

    assert bound.render({"supplier_name": "Acme", "amount": " "}) == {"text_supplier": "Acme"}


def test_an_item_with_nothing_to_name_it_by_is_refused() -> None:
    bound = bind(procurement_board(), BoardSpec(board="1000000001"))

    assert bound.item_name({"visma_id": "c1/x/1"}) == "c1/x/1"
    with pytest.raises(RecordValueError, match="item name"):
        bound.item_name({"amount": "1"})


@pytest.mark.parametrize(
    ("column_type", "settings", "labels"),
    [
        ("status", '{"labels": {"0": "Working on it", "1": "Done", "5": ""}}',
         {"Working on it", "Done"}),
        ("status", '{"labels": [{"id": 0, "name": "Done"}]}', {"Done"}),
        ("dropdown", '{"labels": [{"id": 1, "name": "Ops"}, {"id": 2, "name": "Sales"}]}',
         {"Ops", "Sales"}),
        ("status", "not json", None),  # unknown: monday itself will say
        ("text", '{"labels": {"0": "x"}}', None),
    ],
)  # fmt: skip
def test_labels_are_read_from_monday_settings(
    column_type: str, settings: str, labels: set[str] | None
) -> None:
    assert labels_of(column_type, settings) == (None if labels is None else frozenset(labels))
