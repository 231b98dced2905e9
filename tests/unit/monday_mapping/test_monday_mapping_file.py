"""The mapping file: loaded strictly, mistakes reported with file, line and key, and the
file the wizard writes reads back to the same mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from monday_sink.mapping import (
    BoardSpec,
    MappingError,
    MappingFile,
    MappingFileError,
    MatchBy,
    load_mappings,
    parse_mappings,
)

pytestmark = pytest.mark.unit

GOOD = """\
tenant: t1
boards:
  - board: 1000000001
  - board: "1000000002"
    match: position
    positions: [visma_id, reference_number, ~, amount]
  - board: 1000000003
    match: table
    columns:
      visma_id: text_visma_id
      amount: "Total "
    item_name: "{reference_number|order_number} {supplier_name}"
    create_labels_if_missing: yes
"""


def test_a_good_file_loads_every_way_of_pairing(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(GOOD)

    mappings = load_mappings(path)

    assert mappings.tenant == "t1"
    assert [spec.match for spec in mappings.boards] == [
        MatchBy.TITLE,
        MatchBy.POSITION,
        MatchBy.TABLE,
    ]
    assert mappings.board("1000000001").board == "1000000001"  # a YAML number is an id
    assert mappings.board("1000000002").positions == [
        "visma_id",
        "reference_number",
        None,
        "amount",
    ]
    table = mappings.board("1000000003")
    assert table.columns == {"visma_id": "text_visma_id", "amount": "Total "}
    assert table.create_labels_if_missing is True
    with pytest.raises(MappingError, match="board 9 has no mapping"):
        mappings.board("9")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "boards:\n  - board: 1\n    match: table\n    columns:\n      amout: AMOUNT\n",
            "m.yaml line 4: boards[0].columns: Value error, unknown Visma field 'amout' "
            "(did you mean 'amount'?)",
        ),
        ("boards:\n  - board: 1\n    colour: red\n", "m.yaml line 3: boards[0].colour: Extra"),
        ("boards:\n  - board: one\n", "m.yaml line 2: boards[0].board: String should match"),
        ("boards:\n  - board: 1\n    match: table\n", "match: table needs 'columns'"),
        ("boards:\n  - board: 1\n    match: position\n", "match: position needs 'positions'"),
        ("boards:\n  - board: 1\n    positions: [amount]\n", "only read with match: position"),
        (
            "boards:\n  - board: 1\n    match: position\n    positions: [amount, amount]\n",
            "'amount' is at two positions",
        ),
        ("boards:\n  - board: 1\n    item_name: '{numbr}'\n", "unknown Visma field 'numbr'"),
        ("boards:\n  - board: 1\n  - board: 1\n", "board 1 is mapped twice"),
        ("boards: []\n", "m.yaml line 1: boards: List should have at least 1 item"),
        ("", "m.yaml: the file is empty; expected a mapping with 'boards'"),
        ("boards: [\n", "m.yaml line 2: not valid YAML"),
    ],
)
def test_a_mistake_names_the_file_the_line_and_the_key(text: str, expected: str) -> None:
    with pytest.raises(MappingFileError) as failed:
        parse_mappings(text, source="m.yaml")

    assert expected in str(failed.value)
    assert isinstance(failed.value, MappingError)


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(MappingFileError, match=r"nowhere\.yaml: cannot read"):
        load_mappings(tmp_path / "nowhere.yaml")


def test_the_written_file_reads_back_the_same(tmp_path: Path) -> None:
    mappings = MappingFile(
        tenant="t1",
        boards=[
            BoardSpec(
                board="1000000001",
                name="Procurement",
                match=MatchBy.TABLE,
                columns={"visma_id": "text_visma_id", "amount": "numbers_amount"},
            )
        ],
    )
    path = tmp_path / "out.yaml"

    path.write_text(mappings.to_yaml(header="written by a test\namount -> 'AMOUNT'"))

    assert path.read_text().startswith("# written by a test\n# amount -> 'AMOUNT'\n")
    assert load_mappings(path) == mappings
