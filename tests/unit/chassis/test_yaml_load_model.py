"""`chassis.yaml_source.load_model`: a hand-edited file validated as a model, or one line
naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from chassis.errors import PermanentError
from chassis.yaml_source import YamlSourceError, load_model


class Board(BaseModel):
    model_config = ConfigDict(extra="forbid")
    board: str
    company: str


class Boards(BaseModel):
    model_config = ConfigDict(extra="forbid")
    boards: list[Board]


def test_a_valid_file_is_its_model_and_numbers_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "boards.yaml"
    path.write_text("boards:\n  - board: 0012\n    company: '1'\n")
    assert load_model(path, Boards, expected="boards").boards == [Board(board="0012", company="1")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "boards:\n  - board: 1\n    company: x\n    size: 3\n",
            r"line 4: boards\[0\]\.size: Extra",
        ),
        ("boards: [\n", r"line \d: not valid YAML"),
        ("", r"the file is empty; expected a list of boards"),
    ],
)
def test_a_mistake_names_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "boards.yaml"
    path.write_text(text)
    with pytest.raises(YamlSourceError, match=message) as raised:
        load_model(path, Boards, expected="a list of boards")
    assert str(raised.value).startswith(str(path))
    assert isinstance(raised.value, PermanentError)


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(YamlSourceError, match=r"absent\.yaml: cannot be read: No such file"):
        load_model(tmp_path / "absent.yaml", Boards, expected="boards")
