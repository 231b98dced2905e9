"""A Visma field's display string as the JSON value of one monday column type.

monday wants each column type's own shape in `column_values` (its API reference, one page
per column type): text as is, numbers as a string holding the number, a date as
`{"date": "YYYY-MM-DD"}` (with `"time"` in UTC when there is one), a status by its label
`{"label": ...}`, a dropdown `{"labels": [...]}`, long text `{"text": ...}`, a link
`{"url", "text"}`, an email `{"email", "text"}` and a phone `{"phone", "countryShortName"}`.
A status or dropdown label the column lacks is refused here, before any call, unless the
mapping lets monday create missing labels (`create_labels_if_missing`, off by default).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

__all__ = ["ColumnLabels", "ValueRefused", "column_value", "labels_of"]


class ValueRefused(ValueError):
    """The value does not fit the column; the message says why, in a few words."""


@dataclass(frozen=True)
class ColumnLabels:
    """The labels a status or dropdown column offers; None when the settings do not say."""

    names: frozenset[str] | None
    create_missing: bool

    def check(self, label: str) -> None:
        if self.names is None or self.create_missing or label in self.names:
            return
        offered = ", ".join(sorted(self.names)) or "none"
        raise ValueRefused(
            f"label {label!r} is not one of the column's ({offered}) and "
            "create_labels_if_missing is off"
        )


def labels_of(column_type: str, settings_str: str | None) -> frozenset[str] | None:
    """A status column's labels (`{"labels": {"0": "Done"}}`) or a dropdown's
    (`{"labels": [{"id": 1, "name": "Ops"}]}`), as monday's settings_str gives them."""
    try:
        labels = json.loads(settings_str or "{}").get("labels")
    except (ValueError, AttributeError):
        return None
    if column_type not in ("status", "dropdown"):
        return None
    if isinstance(labels, dict):  # status: index -> label
        return frozenset(str(label) for label in labels.values() if label)
    if isinstance(labels, list):  # dropdown: [{id, name}]; either shape is read for either
        return frozenset(
            str(label["name"]) for label in labels if isinstance(label, dict) and "name" in label
        )
    return None


def _number(value: str) -> str:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueRefused(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueRefused(f"{value!r} is not a finite number")
    return value


def _date(value: str) -> dict[str, object]:
    try:
        if len(value) == 10:
            return {"date": date.fromisoformat(value).isoformat()}
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueRefused(f"{value!r} is not an ISO date") from None
    if moment.tzinfo is None:
        return {"date": moment.date().isoformat()}
    moment = moment.astimezone(UTC)
    return {"date": moment.date().isoformat(), "time": moment.strftime("%H:%M:%S")}


def _status(value: str, labels: ColumnLabels) -> dict[str, object]:
    labels.check(value)
    return {"label": value}


def _dropdown(value: str, labels: ColumnLabels) -> dict[str, object]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    for name in names:
        labels.check(name)
    return {"labels": names}


def _email(value: str) -> dict[str, object]:
    if "@" not in value:
        raise ValueRefused(f"{value!r} is not an email address")
    return {"email": value, "text": value}


_PLAIN: dict[str, Callable[[str], object]] = {
    "text": lambda value: value,
    "numbers": _number,
    "date": _date,
    "long_text": lambda value: {"text": value},
    "link": lambda value: {"url": value, "text": value},
    "email": _email,
}
_LABELLED: dict[str, Callable[[str, ColumnLabels], object]] = {
    "status": _status,
    "dropdown": _dropdown,
}


def column_value(
    column_type: str, value: str, *, labels: ColumnLabels, phone_country: str | None
) -> object:
    """The value to send for that column type; ValueRefused when it cannot be one."""
    if column_type in _PLAIN:
        return _PLAIN[column_type](value)
    if column_type in _LABELLED:
        return _LABELLED[column_type](value, labels)
    if column_type == "phone" and phone_country:
        return {"phone": value, "countryShortName": phone_country}
    raise ValueRefused(f"the connector does not write {column_type} columns")
