"""Column values in monday's own shapes: what a client may write, what is stored and read.

A write is a column's JSON (``{"label": "Done"}``, ``{"date": "2024-05-01"}``, numbers as a
string...) or, through ``change_simple_column_value``, a plain string. Reads give ``value``
(a JSON string, as monday does) and ``text`` (what a person sees in the cell).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.monday.errors import MondayApplicationError


@dataclass
class Column:
    id: str
    title: str
    type: str
    labels: list[str] = field(default_factory=list)

    def settings_str(self) -> str:
        if self.type == "status":
            return json.dumps({"labels": {str(i): label for i, label in enumerate(self.labels)}})
        if self.type == "dropdown":
            return json.dumps(
                {"labels": [{"id": i + 1, "name": n} for i, n in enumerate(self.labels)]}
            )
        return "{}"


def _invalid(column: Column, value: object) -> MondayApplicationError:
    return MondayApplicationError(
        f"invalid value for column {column.id} ({column.type})",
        code="ColumnValueException",
        column_id=column.id,
        value=value,
    )


def _label(column: Column, label: str, *, create_missing: bool) -> int:
    if label not in column.labels:
        if not create_missing:
            raise MondayApplicationError(
                "This status label doesn't exist, possible statuses are: "
                + ", ".join(column.labels),
                code="ColumnValueException",
                column_id=column.id,
                label=label,
            )
        column.labels.append(label)
    return column.labels.index(label)


def _status(column: Column, raw: object, *, create_missing: bool) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = {"label": raw}
    if isinstance(raw, dict) and isinstance(raw.get("label"), str):
        return {"index": _label(column, raw["label"], create_missing=create_missing)}
    if (
        isinstance(raw, dict)
        and isinstance(raw.get("index"), int)
        and 0 <= raw["index"] < len(column.labels)
    ):
        return {"index": raw["index"]}
    raise _invalid(column, raw)


def _dropdown(column: Column, raw: object, *, create_missing: bool) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = {"labels": [part.strip() for part in raw.split(",") if part.strip()]}
    if isinstance(raw, dict) and isinstance(raw.get("labels"), list):
        ids = [_label(column, str(n), create_missing=create_missing) + 1 for n in raw["labels"]]
        return {"ids": ids}
    if (
        isinstance(raw, dict)
        and isinstance(raw.get("ids"), list)
        and all(isinstance(i, int) and 1 <= i <= len(column.labels) for i in raw["ids"])
    ):
        return {"ids": list(raw["ids"])}
    raise _invalid(column, raw)


def _pair(column: Column, raw: object, keys: tuple[str, str]) -> dict[str, Any]:
    """Link, email and phone: a JSON object, or "first second" as a simple string."""
    if isinstance(raw, str):
        first, _, second = raw.partition(" ")
        raw = {keys[0]: first, keys[1]: second or first}
    if isinstance(raw, dict) and isinstance(raw.get(keys[0]), str):
        return {keys[0]: raw[keys[0]], keys[1]: str(raw.get(keys[1]) or raw[keys[0]])}
    raise _invalid(column, raw)


def _number(column: Column, raw: object) -> str:
    try:
        float(str(raw))
    except ValueError:
        raise _invalid(column, raw) from None
    return str(raw)


def _date(column: Column, raw: object) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = {"date": raw}
    if isinstance(raw, dict) and isinstance(raw.get("date"), str) and len(raw["date"]) == 10:
        return {"date": raw["date"], "time": raw.get("time")}
    raise _invalid(column, raw)


def _text(column: Column, raw: object) -> str:
    if not isinstance(raw, (str, int, float)):
        raise _invalid(column, raw)
    return str(raw)


def _long_text(column: Column, raw: object) -> dict[str, Any]:
    text = raw.get("text") if isinstance(raw, dict) else raw
    if not isinstance(text, str):
        raise _invalid(column, raw)
    return {"text": text}


_PAIRS = {
    "link": ("url", "text"),
    "email": ("email", "text"),
    "phone": ("phone", "countryShortName"),
}
_PLAIN: dict[str, Callable[[Column, object], object]] = {
    "text": _text,
    "numbers": _number,
    "date": _date,
    "long_text": _long_text,
}


def parse_value(column: Column, raw: object, *, create_labels: bool) -> object:
    """The stored value of a column write in monday's shape, or a ColumnValueException."""
    if raw is None or raw == "" or raw == {}:
        return None
    if column.type == "status":
        return _status(column, raw, create_missing=create_labels)
    if column.type == "dropdown":
        return _dropdown(column, raw, create_missing=create_labels)
    if column.type in _PAIRS:
        return _pair(column, raw, _PAIRS[column.type])
    if column.type in _PLAIN:
        return _PLAIN[column.type](column, raw)
    raise _invalid(column, raw)


def render_text(column: Column, value: object) -> str:
    """The cell's text, as monday's ``ColumnValue.text`` gives it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    assert isinstance(value, dict)
    kind = column.type
    if kind == "status":
        return column.labels[value["index"]]
    if kind == "dropdown":
        return ", ".join(column.labels[i - 1] for i in value["ids"])
    if kind == "date":
        return str(value["date"]) + (f" {value['time']}" if value.get("time") else "")
    if kind == "link":
        return f"{value['text']} - {value['url']}"
    if kind == "email":
        return str(value["email"])
    if kind == "phone":
        return str(value["phone"])
    return str(value.get("text", ""))


def render_value(value: object) -> str | None:
    """``ColumnValue.value``: monday answers the stored JSON as a string, null when empty."""
    return None if value is None else json.dumps(value)


def webhook_value(column: Column, value: object) -> dict[str, Any] | None:
    """A value as a webhook event carries it: a status names its label, text is wrapped."""
    if value is None:
        return None
    if column.type == "status" and isinstance(value, dict):
        index = value["index"]
        return {"label": {"index": index, "text": column.labels[index]}, "post_id": None}
    if isinstance(value, str):
        return {"value": value}
    assert isinstance(value, dict)
    return dict(value)
