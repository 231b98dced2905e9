"""Binding a mapping to a board's real columns: by title, by position, by table, and the
impossible mappings that must stop the sink at start with board, column and field named."""

from __future__ import annotations

import pytest
from mapping_boards import board, procurement_board

from chassis.errors import PermanentError
from monday_sink.mapping import BoardSpec, MappingError, MatchBy, bind

pytestmark = pytest.mark.unit

INVOICE = {
    "reference_number": "INV-1042",
    "supplier_name": "Nordic Timber AB",
    "amount": "1250.50",
    "currency": "SEK",
    "due_date": "2026-03-31",
    "approval_status": "Approved",
    "description": "Pallets, March",
    "record_url": "https://sandbox.example/visma/c1/supplierInvoice/INV-1042",
}
ORDER = {"order_number": "PO-77", "supplier_name": "Acme Oy", "order_total": "990.00"}


def test_by_title_matches_odd_case_and_spacing_on_the_seeded_board() -> None:
    bound = bind(procurement_board(), BoardSpec(board="1000000001"))

    values = bound.render(INVOICE, visma_id="c1/supplierInvoice/INV-1042")

    assert values == {
        "text_visma_id": "c1/supplierInvoice/INV-1042",
        "text_invoice": "INV-1042",  # 'Invoice '
        "text_supplier": "Nordic Timber AB",  # ' supplier name'
        "numbers_amount": "1250.50",  # 'AMOUNT'
        "text_currency": "SEK",
        "date_due": {"date": "2026-03-31"},  # 'Due  date'
        "status_approval": {"label": "Approved"},
        "long_text_notes": {"text": "Pallets, March"},
        "link_document": {"url": INVOICE["record_url"], "text": INVOICE["record_url"]},
    }
    assert bound.visma_id_column == "text_visma_id"
    assert "status_receipt" not in values  # the warehouse's column: nothing maps to 'Receipt'


def test_by_title_one_column_shows_an_invoice_amount_and_an_order_total() -> None:
    bound = bind(procurement_board(), BoardSpec(board="1000000001"))

    values = bound.render(ORDER, visma_id="c1/purchaseOrder/PO-77")

    assert values["numbers_amount"] == "990.00"
    assert bound.item_name(ORDER) == "PO-77 Acme Oy"
    assert bound.item_name(INVOICE) == "INV-1042 Nordic Timber AB"


def test_by_position_pairs_auto_generated_columns_in_board_order() -> None:
    auto = board(
        ("text", "Text", "text"),
        ("text0", "Text", "text"),
        ("numbers", "Numbers", "numbers"),
        ("date4", "Date", "date"),
        ("text1", "Text", "text"),
    )
    spec = BoardSpec(
        board="42",
        match=MatchBy.POSITION,
        positions=["visma_id", "reference_number", "amount", "due_date", None],
    )

    bound = bind(auto, spec)

    assert bound.render(INVOICE, visma_id="v1") == {
        "text": "v1",
        "text0": "INV-1042",
        "numbers": "1250.50",
        "date4": {"date": "2026-03-31"},
    }


def test_by_table_names_columns_by_id_or_by_title_and_ignores_other_titles() -> None:
    spec = BoardSpec(
        board="1000000001",
        match=MatchBy.TABLE,
        columns={
            "visma_id": "text_visma_id",
            "supplier_reference": "invoice",  # a title, case and spacing aside
            "amount": "AMOUNT",
            "order_total": "numbers_amount",
        },
        item_name="{supplier_reference}",
    )

    bound = bind(procurement_board(), spec)

    record = INVOICE | {"supplier_reference": "SUP-9"}
    assert bound.render(record, visma_id="v") == {
        "text_visma_id": "v",
        "text_invoice": "SUP-9",
        "numbers_amount": "1250.50",
    }
    assert bound.render(ORDER, visma_id="w")["numbers_amount"] == "990.00"
    assert bound.item_name(record) == "SUP-9"


def test_a_table_entry_overrides_what_the_title_would_pair() -> None:
    spec = BoardSpec(board="1000000001", columns={"supplier_number": " supplier name"})

    values = bind(procurement_board(), spec).render(INVOICE | {"supplier_number": "S-1"})

    assert values["text_supplier"] == "S-1"
    assert values["text_invoice"] == "INV-1042"  # the rest still by title


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        (  # a missing column
            BoardSpec(board="1000000001", columns={"due_date": "Payment date"}),
            ["'Procurement' (1000000001)", "'Payment date'", "'due_date'", "'Due  date'"],
        ),
        (  # the wrong type for the field
            BoardSpec(board="1000000001", columns={"supplier_name": "AMOUNT"}),
            ["'Procurement' (1000000001)", "'AMOUNT' (numbers_amount, numbers)",
             "'supplier_name'", "wrong type"],
        ),
        (  # a date field in a status column
            BoardSpec(board="1000000001", columns={"due_date": "status_receipt"}),
            ["(1000000001)", "'Receipt' (status_receipt, status)", "'due_date'", "date"],
        ),
        (  # more positions than columns
            BoardSpec(board="1000000001", match=MatchBy.POSITION,
                      positions=["visma_id"] + [None] * 11 + ["amount"]),
            ["(1000000001)", "13 positions", "12 columns", "'amount'"],
        ),
        (  # the Visma ID column is not a text column
            BoardSpec(board="1000000001", columns={"visma_id": "AMOUNT"}),
            ["(1000000001)", "'AMOUNT'", "'visma_id'"],
        ),
    ],
)  # fmt: skip
def test_an_impossible_mapping_fails_naming_board_column_and_field(
    spec: BoardSpec, named: list[str]
) -> None:
    with pytest.raises(MappingError) as failed:
        bind(procurement_board(), spec)

    assert isinstance(failed.value, PermanentError)  # a retry cannot help
    for part in named:
        assert part in str(failed.value)


def test_a_title_two_columns_share_is_ambiguous() -> None:
    twins = board(
        ("text_id", "Visma ID", "text"),
        ("numbers_a", "Amount", "numbers"),
        ("numbers_b", " amount ", "numbers"),
    )

    with pytest.raises(MappingError, match=r"'amount'.*ambiguous.*numbers_a.*numbers_b"):
        bind(twins, BoardSpec(board="42"))
    with pytest.raises(MappingError, match=r"'amount'.*ambiguous.*numbers_a.*numbers_b"):
        bind(twins, BoardSpec(board="42", match=MatchBy.TABLE, columns={"amount": "AMOUNT"}))
    # By id it is not ambiguous.
    spec = BoardSpec(board="42", columns={"visma_id": "text_id", "amount": "numbers_b"})
    assert bind(twins, spec).render({"amount": "5"}) == {"numbers_b": "5"}


def test_a_title_match_on_a_column_of_the_wrong_type_fails_at_start() -> None:
    wrong = board(("text_id", "Visma ID", "text"), ("status_due", "Due date", "status"))

    with pytest.raises(MappingError, match=r"'Due date' \(status_due, status\).*'due_date'"):
        bind(wrong, BoardSpec(board="42"))


def test_a_board_without_a_visma_id_column_fails_at_start() -> None:
    plain = board(("text", "Invoice", "text"), name="Invoices")

    with pytest.raises(MappingError, match=r"'Invoices' \(42\).*'visma_id'"):
        bind(plain, BoardSpec(board="42"))


def test_a_phone_column_needs_the_country_of_its_numbers() -> None:
    contacts = board(("text_id", "Visma ID", "text"), ("phone", "Phone", "phone"))

    with pytest.raises(MappingError, match=r"'Phone' \(phone, phone\).*phone_country"):
        bind(contacts, BoardSpec(board="42"))
    bound = bind(contacts, BoardSpec(board="42", phone_country="SE"))
    assert bound.render({"phone": "+46701234567"}) == {
        "phone": {"phone": "+46701234567", "countryShortName": "SE"}
    }


def test_a_spec_for_another_board_is_refused() -> None:
    with pytest.raises(MappingError, match=r"\(1000000001\).*board 7"):
        bind(procurement_board(), BoardSpec(board="7"))


def test_by_title_passes_over_columns_the_sink_never_writes() -> None:
    """Every real board has the item's own 'Name' column (type name), and may have people,
    formulas or a creation log: titles that name a field there are not a mapping error."""
    real = board(
        ("name", "Name", "name"),
        ("text_id", "Visma ID", "text"),
        ("creation_log", "Date", "creation_log"),
        ("numbers", "Total", "numbers"),
    )

    bound = bind(real, BoardSpec(board="42"))

    assert [column.id for column in bound.columns] == ["text_id", "numbers"]
    with pytest.raises(MappingError, match=r"'Name' \(name, name\).*does not write name columns"):
        bind(real, BoardSpec(board="42", columns={"supplier_name": "Name"}))
