"""monday's answers as typed, frozen models: a board's schema, items and their values.

These are the client's view of monday, not domain models: a sink maps them to its own.
Unknown fields are ignored because monday adds fields freely.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Account",
    "Board",
    "Column",
    "ColumnValue",
    "Complexity",
    "DailyCalls",
    "Group",
    "Item",
    "ItemsPage",
    "Me",
]


class _MondayModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Column(_MondayModel):
    """A board column: `type` is monday's ColumnType (text, numbers, status, ...)."""

    id: str
    title: str
    type: str
    settings_str: str = "{}"

    @property
    def settings(self) -> dict[str, Any]:
        """`settings_str` decoded (a status column's labels, a dropdown's options)."""
        decoded = json.loads(self.settings_str or "{}")
        return decoded if isinstance(decoded, dict) else {}


class Group(_MondayModel):
    id: str
    title: str


class Board(_MondayModel):
    """A board's schema: its columns in board order and its groups."""

    id: str
    name: str
    columns: tuple[Column, ...] = ()
    groups: tuple[Group, ...] = ()

    @field_validator("columns", "groups", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return () if value is None else value

    def column(self, column_id: str) -> Column | None:
        return next((c for c in self.columns if c.id == column_id), None)


class ColumnValue(_MondayModel):
    """One cell: `value` is monday's JSON decoded (None when empty), `text` what users see."""

    id: str
    type: str
    text: str | None = None
    value: Any = None

    @field_validator("value", mode="before")
    @classmethod
    def _decode(cls, value: object) -> object:
        # monday answers ColumnValue.value as a JSON-encoded string.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value


class Item(_MondayModel):
    """A board item (row) with its cells by column id."""

    id: str
    name: str
    board_id: str
    group_id: str | None = None
    updated_at: datetime | None = None
    column_values: Mapping[str, ColumnValue] = Field(default_factory=dict)

    @classmethod
    def from_answer(cls, raw: Mapping[str, Any], *, board_id: str | None = None) -> Item:
        """An item from monday's answer (``board { id }``, ``group { id }``, a value list)."""
        board = raw.get("board") or {}
        group = raw.get("group") or {}
        values = [ColumnValue.model_validate(v) for v in raw.get("column_values") or ()]
        return cls(
            id=str(raw["id"]),
            name=str(raw["name"]),
            board_id=str(board.get("id") or board_id or ""),
            group_id=None if group.get("id") is None else str(group["id"]),
            updated_at=raw.get("updated_at"),
            column_values=MappingProxyType({v.id: v for v in values}),
        )

    def text(self, column_id: str) -> str | None:
        cell = self.column_values.get(column_id)
        return None if cell is None else cell.text


class ItemsPage(_MondayModel):
    items: tuple[Item, ...]
    cursor: str | None


class Account(_MondayModel):
    id: str
    name: str
    slug: str


class Me(_MondayModel):
    """The token's user and account (what `mlc check` shows)."""

    id: str
    name: str
    email: str
    account: Account


class DailyCalls(_MondayModel):
    """The account's daily call limit and its calls on the latest day monday reports
    (`platform_api`: daily_limit.total and daily_analytics.by_day)."""

    limit: int | None
    used: int
    day: str | None

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @classmethod
    def from_answer(cls, raw: Mapping[str, Any]) -> DailyCalls:
        limit = (raw.get("daily_limit") or {}).get("total")
        days = [d for d in (raw.get("daily_analytics") or {}).get("by_day") or () if d]
        latest = max(days, key=lambda d: str(d.get("day")), default=None)
        return cls(
            limit=limit if isinstance(limit, int) else None,
            used=int(latest["usage"]) if latest else 0,
            day=str(latest["day"]) if latest else None,
        )


class Complexity(_MondayModel):
    """``complexity`` of one call: the budget `before` and `after` it, what it cost
    (`query`) and when the window resets."""

    before: int
    after: int
    query: int
    reset_in_x_seconds: int
