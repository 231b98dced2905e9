"""A mapping checked against its board's real columns, ready to render records.

`bind` runs when the sink starts (and in the wizard): every pair is resolved to a real
column of the board as monday describes it (`boards { columns { id title type
settings_str } }`), and anything that cannot work, a missing column, a title two columns
share, a field the column's type cannot hold, a board without a "Visma ID" column, is a
`MappingError` naming board, column and field, instead of a failed mutation at 3 a.m.
`BoundMapping.render` then turns a record's fields into `column_values`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from monday_sink.mapping.errors import MappingError, RecordValueError
from monday_sink.mapping.fields import (
    COLUMN_TYPES,
    VISMA_FIELDS,
    VISMA_ID,
    fits,
    normalised,
    title_candidates,
)
from monday_sink.mapping.item_names import DEFAULT_ITEM_NAME, render_name
from monday_sink.mapping.spec import BoardSpec, MatchBy
from monday_sink.mapping.values import ColumnLabels, ValueRefused, column_value, labels_of

__all__ = ["BoardShape", "BoundColumn", "BoundMapping", "ColumnShape", "bind"]


class ColumnShape(Protocol):
    """A board column as monday describes it (monday_client.Column has this shape)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def settings_str(self) -> str | None: ...


class BoardShape(Protocol):
    """A board with its columns in board order (monday_client.Board has this shape)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def columns(self) -> Sequence[ColumnShape]: ...


@dataclass(frozen=True)
class BoundColumn:
    """One column and the fields it shows, best first (the first a record has is written)."""

    id: str
    title: str
    type: str
    fields: tuple[str, ...]
    labels: ColumnLabels


@dataclass(frozen=True)
class BoundMapping:
    board_id: str
    board_name: str
    columns: tuple[BoundColumn, ...]
    visma_id_column: str
    """The column holding the record's identity: the sink finds an item by it."""
    item_name_template: str
    create_labels_if_missing: bool
    phone_country: str | None = None

    def render(
        self, fields: Mapping[str, str], *, visma_id: str | None = None
    ) -> dict[str, object]:
        """`column_values` for a record: column id -> value in the column type's shape.
        A column none of whose fields the record has is left out (never cleared); the
        Visma ID column gets `visma_id` (or the record's `visma_id` field)."""
        record = dict(fields)
        if visma_id is not None:
            record[VISMA_ID] = visma_id
        values: dict[str, object] = {}
        for column in self.columns:
            field = next((f for f in column.fields if record.get(f, "").strip()), None)
            if field is None:
                continue
            try:
                values[column.id] = column_value(
                    column.type,
                    record[field].strip(),
                    labels=column.labels,
                    phone_country=self.phone_country,
                )
            except ValueRefused as exc:
                raise RecordValueError(
                    f"{_board(self.board_id, self.board_name)}: "
                    f"{_column(column.id, column.title, column.type)}: "
                    f"Visma field {field!r}: {exc}"
                ) from None
        return values

    def item_name(self, fields: Mapping[str, str]) -> str:
        """The item's name from the mapping's template; a record with nothing to name it by
        is refused (monday requires a name)."""
        name = render_name(self.item_name_template, fields)
        if not name:
            raise RecordValueError(
                f"{_board(self.board_id, self.board_name)}: the item name "
                f"{self.item_name_template!r} is empty for this record and it has no Visma id"
            )
        return name


def _board(board_id: str, name: str) -> str:
    return f"board {name!r} ({board_id})"


def _column(column_id: str, title: str, column_type: str) -> str:
    return f"column {title!r} ({column_id}, {column_type})"


def bind(board: BoardShape, spec: BoardSpec) -> BoundMapping:
    """The spec resolved against the board's real columns; MappingError if it cannot work."""
    where = _board(board.id, board.name)
    if str(board.id) != spec.board:
        raise MappingError(f"{where}: the mapping given is for board {spec.board}")
    pairs: dict[str, list[str]] = {}  # column id -> fields, best first
    for field, ref in spec.columns.items():
        column = _named_column(board, ref, field=field)
        _check_fits(board, column, field)
        pairs.setdefault(column.id, []).append(field)
    taken = set(spec.columns)
    if spec.match is MatchBy.POSITION:
        _pair_by_position(board, spec, pairs, taken=taken)
    elif spec.match is MatchBy.TITLE:
        _pair_by_title(board, pairs, taken=taken)
    bound = tuple(
        BoundColumn(
            id=column.id,
            title=column.title,
            type=column.type,
            fields=tuple(pairs[column.id]),
            labels=ColumnLabels(
                labels_of(column.type, column.settings_str),
                create_missing=spec.create_labels_if_missing,
            ),
        )
        for column in board.columns
        if column.id in pairs
    )
    visma_id_column = _visma_id_column(board, bound)
    for phone in (c for c in bound if c.type == "phone" and spec.phone_country is None):
        raise MappingError(
            f"{where}: {_column(phone.id, phone.title, phone.type)} shows Visma field "
            f"{phone.fields[0]!r}: a phone column needs phone_country (ISO-2) in the mapping"
        )
    return BoundMapping(
        board_id=str(board.id),
        board_name=board.name,
        columns=bound,
        visma_id_column=visma_id_column,
        item_name_template=spec.item_name or DEFAULT_ITEM_NAME,
        create_labels_if_missing=spec.create_labels_if_missing,
        phone_country=spec.phone_country,
    )


def _named_column(board: BoardShape, ref: str, *, field: str) -> ColumnShape:
    """The column a table names by id, or else by title (case and spacing aside)."""
    for column in board.columns:
        if column.id == ref:
            return column
    titled = [c for c in board.columns if normalised(c.title) == normalised(ref)]
    if len(titled) == 1:
        return titled[0]
    where = _board(board.id, board.name)
    if titled:
        both = " and ".join(_column(c.id, c.title, c.type) for c in titled)
        raise MappingError(
            f"{where}: Visma field {field!r}: the title {ref!r} is ambiguous ({both}); "
            "name the column by its id"
        )
    titles = ", ".join(repr(c.title) for c in board.columns)
    raise MappingError(
        f"{where}: Visma field {field!r}: no column {ref!r} (by id or title); "
        f"the board's columns are {titles}"
    )


def _check_fits(board: BoardShape, column: ColumnShape, field: str) -> None:
    if fits(column.type, field):
        return
    where = f"{_board(board.id, board.name)}: {_column(column.id, column.title, column.type)}"
    if column.type not in COLUMN_TYPES:
        raise MappingError(
            f"{where}: cannot hold Visma field {field!r}: the connector does not write "
            f"{column.type} columns (it writes {', '.join(COLUMN_TYPES)})"
        )
    holds = sorted(t for t, kinds in COLUMN_TYPES.items() if VISMA_FIELDS[field] in kinds)
    raise MappingError(
        f"{where}: wrong type for Visma field {field!r} (a {VISMA_FIELDS[field]} field): "
        f"it fits a column of type {' or '.join(holds)}"
    )


def _pair_by_position(
    board: BoardShape, spec: BoardSpec, pairs: dict[str, list[str]], *, taken: set[str]
) -> None:
    if len(spec.positions) > len(board.columns):
        raise MappingError(
            f"{_board(board.id, board.name)}: the mapping names {len(spec.positions)} "
            f"positions but the board has {len(board.columns)} columns (field "
            f"{spec.positions[len(board.columns)]!r} has no column)"
        )
    for column, field in zip(board.columns, spec.positions, strict=False):
        if field is None or field in taken:
            continue
        _check_fits(board, column, field)
        pairs.setdefault(column.id, []).append(field)


def _pair_by_title(board: BoardShape, pairs: dict[str, list[str]], *, taken: set[str]) -> None:
    """Each field goes to the column whose title names it best (the field's own name before
    an alias); two columns naming it equally well are ambiguous."""
    ranks: dict[str, list[tuple[int, ColumnShape]]] = {}
    for column in board.columns:
        if column.id in pairs or column.type not in COLUMN_TYPES:
            continue  # the table said what it shows, or the sink never writes it ("name")
        candidates = [f for f in title_candidates(column.title) if f not in taken]
        fitting = [f for f in candidates if fits(column.type, f)]
        if candidates and not fitting:
            _check_fits(board, column, candidates[0])
        for rank, field in enumerate(fitting):
            ranks.setdefault(field, []).append((rank, column))
    for field, claims in ranks.items():
        best = min(rank for rank, _ in claims)
        winners = [column for rank, column in claims if rank == best]
        if len(winners) > 1:
            both = " and ".join(_column(c.id, c.title, c.type) for c in winners)
            raise MappingError(
                f"{_board(board.id, board.name)}: Visma field {field!r}: ambiguous title, "
                f"{both} both name it; map it under 'columns' by column id"
            )
        pairs.setdefault(winners[0].id, []).append(field)


def _visma_id_column(board: BoardShape, bound: tuple[BoundColumn, ...]) -> str:
    where = _board(board.id, board.name)
    holders = [column for column in bound if VISMA_ID in column.fields]
    if not holders:
        raise MappingError(
            f"{where}: no column holds Visma field {VISMA_ID!r} (the record's identity, "
            "which the sink finds items by): add a text column titled 'Visma ID' or map "
            f"{VISMA_ID} under 'columns'"
        )
    holder = holders[0]
    if holder.type != "text" or holder.fields != (VISMA_ID,):
        raise MappingError(
            f"{where}: {_column(holder.id, holder.title, holder.type)}: Visma field "
            f"{VISMA_ID!r} needs a text column of its own (it holds {', '.join(holder.fields)})"
        )
    return holder.id
