"""A first mapping for a board nobody has mapped yet: by title first, then by type.

The wizard (`mlc monday map`) starts from this and lets a person accept or change each pair.
A column whose title names a field (case, spacing and known aliases aside) gets it; a column
with a generic title, as monday gives a new column ("Text", "Numbers 2", "Date"), gets the
most likely field of its type that no column has yet. Any other column is left alone: a
"Receipt" status is the warehouse's to set, never the sink's to overwrite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from monday_sink.mapping.binding import BoardShape, ColumnShape
from monday_sink.mapping.errors import MappingError
from monday_sink.mapping.fields import VISMA_ID, fits, normalised, title_candidates
from monday_sink.mapping.spec import BoardSpec, MatchBy

__all__ = ["Pair", "ProposedBy", "proposal_spec", "propose"]


class ProposedBy(StrEnum):
    TITLE = "title"
    TYPE = "type"
    NOTHING = "nothing"
    PERSON = "you"


@dataclass(frozen=True)
class Pair:
    column: ColumnShape
    fields: tuple[str, ...]
    """What the column shows, best first; empty: nothing (the column is left alone)."""
    by: ProposedBy


_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": (VISMA_ID, "reference", "party", "currency", "status", "label"),
    "numbers": ("total", "days_overdue", "vat_amount", "balance"),
    "date": ("due_date", "invoice_date", "order_date", "transaction_date"),
    "status": ("status",),
    "long_text": ("description",),
    "link": ("record_url",),
    "email": ("email",),
    "phone": ("phone",),
}
"""The fields most worth showing in a column of each type, most likely first."""

_GENERIC_TITLE = re.compile(
    r"^(text|numbers?|date|status|label|dropdown|long text|link|email|e-mail|phone)( ?\d+)?$"
)


def propose(board: BoardShape) -> list[Pair]:
    """A pair for every column of the board, in board order."""
    used: set[str] = set()
    by_title: dict[str, tuple[str, ...]] = {}
    for column in board.columns:
        fitting = tuple(
            f for f in title_candidates(column.title) if f not in used and fits(column.type, f)
        )
        if fitting:
            by_title[column.id] = fitting
            used.update(fitting)
    pairs = []
    for column in board.columns:
        if column.id in by_title:
            pairs.append(Pair(column, by_title[column.id], ProposedBy.TITLE))
            continue
        by_type = _by_type(column, used) if _GENERIC_TITLE.match(normalised(column.title)) else None
        if by_type is None:
            pairs.append(Pair(column, (), ProposedBy.NOTHING))
        else:
            used.add(by_type)
            pairs.append(Pair(column, (by_type,), ProposedBy.TYPE))
    return pairs


def _by_type(column: ColumnShape, used: set[str]) -> str | None:
    return next((f for f in _BY_TYPE.get(column.type, ()) if f not in used), None)


def proposal_spec(
    board: BoardShape, pairs: list[Pair], *, create_labels_if_missing: bool = False
) -> BoardSpec:
    """The pairs as an explicit table by column id: what the wizard writes, so that a
    renamed column later still gets the same fields."""
    columns = {field: pair.column.id for pair in pairs for field in pair.fields}
    if not columns:
        raise MappingError(
            f"board {board.name!r} ({board.id}): no column shows a Visma field, not even "
            f"{VISMA_ID!r} (the record's identity, which the sink finds items by)"
        )
    return BoardSpec(
        board=str(board.id),
        name=board.name,
        match=MatchBy.TABLE,
        columns=columns,
        create_labels_if_missing=create_labels_if_missing,
    )
