"""The mapping file: per board, which Visma field goes in which column, and how they are paired.

A tenant's YAML file lists its boards. Each pairs fields with columns in one of three ways:

```yaml
tenant: t1
boards:
  - board: "1000000001"          # matched by title: 'Invoice ', ' supplier name', 'AMOUNT'...
  - board: "1000000002"          # auto-generated columns, paired by position
    match: position
    positions: [visma_id, reference_number, supplier_name, ~, amount]   # ~ skips a column
  - board: "1000000003"          # an explicit table: Visma field -> column id or title
    match: table
    columns: {visma_id: text_visma_id, amount: "Total", order_total: "Total"}
    item_name: "{reference_number|order_number} {supplier_name}"
    create_labels_if_missing: false
```

`columns` also adds or overrides pairs in the other two ways. Mistakes point at the spot
(`mapping.yaml line 9: boards[1].columns.amout: unknown Visma field 'amout' (did you mean
'amount'?)`); whether the columns exist on the board is `binding.bind`'s check at start.
"""

from __future__ import annotations

import difflib
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chassis.yaml_source import YamlSourceError, compose, located_message, plain_data
from monday_sink.mapping.errors import MappingError, MappingFileError
from monday_sink.mapping.fields import VISMA_FIELDS
from monday_sink.mapping.item_names import placeholders

__all__ = ["BoardSpec", "MappingFile", "MatchBy", "load_mappings", "parse_mappings"]


class MatchBy(StrEnum):
    TITLE = "title"
    """Each column whose title (case and spacing aside) names a field, or a known alias."""
    POSITION = "position"
    """`positions[i]` is the field of the board's i-th column (auto-generated boards)."""
    TABLE = "table"
    """Only the pairs under `columns`."""


def _known_field(name: str) -> str:
    if name not in VISMA_FIELDS:
        close = difflib.get_close_matches(name, VISMA_FIELDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown Visma field {name!r}{hint}")
    return name


class BoardSpec(BaseModel):
    """How one board's columns are filled."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    board: str = Field(pattern=r"^\d+$", description="the board's id")
    name: str | None = Field(default=None, description="the board's name, for people")
    match: MatchBy = MatchBy.TITLE
    columns: dict[str, str] = Field(
        default_factory=dict, description="Visma field -> column id or title"
    )
    positions: list[str | None] = Field(
        default_factory=list, description="the field of each column in board order; ~ skips"
    )
    item_name: str | None = Field(
        default=None, description="template of the item's name: `{reference_number|order_number}`"
    )
    create_labels_if_missing: bool = False
    phone_country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="ISO-2 country of phone numbers"
    )

    @field_validator("columns")
    @classmethod
    def _columns_name_fields(cls, columns: dict[str, str]) -> dict[str, str]:
        for name, column in columns.items():
            _known_field(name)
            if not column.strip():
                raise ValueError(f"field {name!r} names no column")
        return columns

    @field_validator("positions")
    @classmethod
    def _positions_name_fields(cls, positions: list[str | None]) -> list[str | None]:
        seen: set[str] = set()
        for index, name in enumerate(positions):
            if name is None:
                continue
            _known_field(name)
            if name in seen:
                raise ValueError(f"field {name!r} is at two positions (the second is {index})")
            seen.add(name)
        return positions

    @field_validator("item_name")
    @classmethod
    def _item_name_fields(cls, template: str | None) -> str | None:
        if template is not None:
            for alternatives in placeholders(template):
                for name in alternatives:
                    _known_field(name)
        return template

    @model_validator(mode="after")
    def _match_has_what_it_needs(self) -> Self:
        if self.match is MatchBy.POSITION and not self.positions:
            raise ValueError("match: position needs 'positions' (the field of each column)")
        if self.match is not MatchBy.POSITION and self.positions:
            raise ValueError(f"'positions' is only read with match: position (not {self.match})")
        if self.match is MatchBy.TABLE and not self.columns:
            raise ValueError("match: table needs 'columns' (Visma field -> column id or title)")
        return self


class MappingFile(BaseModel):
    """A tenant's mappings, one per board."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str | None = None
    boards: list[BoardSpec] = Field(min_length=1)

    @field_validator("boards")
    @classmethod
    def _one_spec_per_board(cls, boards: list[BoardSpec]) -> list[BoardSpec]:
        ids = [spec.board for spec in boards]
        twice = sorted({board for board in ids if ids.count(board) > 1})
        if twice:
            raise ValueError(f"board {twice[0]} is mapped twice")
        return boards

    def board(self, board_id: str) -> BoardSpec:
        for spec in self.boards:
            if spec.board == str(board_id):
                return spec
        mapped = ", ".join(spec.board for spec in self.boards)
        raise MappingError(f"board {board_id} has no mapping (mapped: {mapped})")

    def to_yaml(self, *, header: str = "") -> str:
        """The file as written: defaults left out, `header` lines as comments on top."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude_defaults=True)
        comments = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
        return comments + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def load_mappings(path: Path | str) -> MappingFile:
    """Reads and validates a mapping file; MappingFileError names the file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingFileError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_mappings(text, source=str(path))


def parse_mappings(text: str, *, source: str = "mapping.yaml") -> MappingFile:
    try:
        root = compose(text, source=source, expected="a mapping with 'boards'")
    except YamlSourceError as exc:
        raise MappingFileError(str(exc)) from exc
    try:
        return MappingFile.model_validate(plain_data(root))
    except ValidationError as exc:
        raise MappingFileError(located_message(exc, root, source=source)) from exc
