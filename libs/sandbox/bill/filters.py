"""BILL's list filters: ``filters=updatedTime:gte:"2026-12-30T00:00:00.000Z",archived:eq:false``.

A filter is ``field:operator:value``, several joined by commas. Operators ``eq ne gt gte lt
lte in nin sw``; a value is a JSON string in double quotes, a bare number or boolean, or
for ``in``/``nin`` several quoted values separated by commas or a JSON list (the exact list
syntax is UNCONFIRMED). Date fields take BILL's formats ``yyyy-MM-dd'T'HH:mm:ss.SSSX``,
``…SSS``, ``…ss``, ``…mm`` and ``yyyy-MM-dd``; a value without a zone is read as UTC
(UNCONFIRMED). Which fields BILL lets a client filter on is UNCONFIRMED; the simulator
allows those in ``FIELDS`` and refuses others as invalid input.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.bill.errors import INVALID_INPUT, BillApiError

DATE_FIELDS = frozenset({"createdTime", "updatedTime", "dueDate", "invoice.invoiceDate"})
NUMBER_FIELDS = frozenset({"amount", "dueAmount"})
FIELDS: dict[str, frozenset[str]] = {
    "vendor": frozenset(
        {"id", "name", "archived", "createdTime", "updatedTime", "email", "accountNumber", "taxId"}
    ),
    "bill": frozenset(
        {
            "id",
            "vendorId",
            "archived",
            "createdTime",
            "updatedTime",
            "dueDate",
            "amount",
            "dueAmount",
            "paymentStatus",
            "approvalStatus",
            "invoice.invoiceNumber",
            "invoice.invoiceDate",
        }
    ),
}
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "sw")
ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
_HEAD = re.compile(r"\s*([A-Za-z][\w.]*):(" + "|".join(OPERATORS) + r"):")
_BARE = re.compile(r"[^,]*")
_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{3}))?)?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_DECODER = json.JSONDecoder()


def invalid(message: str) -> BillApiError:
    return BillApiError(INVALID_INPUT, message)


def parse_bill_datetime(text: str) -> datetime:
    match = _DATE.match(text.strip())
    if match is None:
        raise invalid(f"'{text}' is not a valid date")
    year, month, day, hour, minute, second, millis, zone = match.groups()
    if zone is not None and hour is None:
        raise invalid(f"'{text}' is not a valid date")
    iso = f"{year}-{month}-{day}T{hour or '00'}:{minute or '00'}:{second or '00'}"
    iso += f".{millis or '000'}"
    if zone and zone != "Z":
        iso += zone if ":" in zone or len(zone) == 3 else f"{zone[:3]}:{zone[3:]}"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError as exc:
        raise invalid(f"'{text}' is not a valid date") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def field_value(record: dict[str, Any], field: str) -> Any:
    value: Any = record
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def comparable(field: str, value: Any) -> Any:
    """A record's or a filter's value in the form the field compares in."""
    if value is None:
        return None
    if field in DATE_FIELDS:
        return parse_bill_datetime(str(value)).timestamp()
    if field in NUMBER_FIELDS:
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise invalid(f"'{value}' is not a number for {field}") from exc
    if isinstance(value, bool):
        return value
    return str(value)


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    values: tuple[Any, ...]

    def matches(self, record: dict[str, Any]) -> bool:
        have = comparable(self.field, field_value(record, self.field))
        wanted = [comparable(self.field, v) for v in self.values]
        if self.op == "in":
            return have in wanted
        if self.op == "nin":
            return have not in wanted
        if self.op == "sw":
            return isinstance(have, str) and have.startswith(str(wanted[0]))
        if self.op in ("eq", "ne"):
            return bool(have == wanted[0]) == (self.op == "eq")
        if have is None or type(have) is not type(wanted[0]):
            return False
        return ORDERINGS[self.op](have, wanted[0])


def _value(text: str, at: int) -> tuple[Any, int]:
    if text.startswith(('"', "["), at):
        try:
            value, end = _DECODER.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            raise invalid(f"bad filter value at {at}: {exc.msg}") from exc
        return value, end
    match = _BARE.match(text, at)
    raw = match.group(0).strip() if match else ""
    end = match.end() if match else at
    if raw in ("true", "false"):
        return raw == "true", end
    try:
        return float(raw) if "." in raw else int(raw), end
    except ValueError:
        raise invalid(f"filter value '{raw}' must be quoted") from None


def parse_filters(entity: str, text: str | None) -> list[Filter]:
    filters: list[Filter] = []
    text = (text or "").strip()
    at = 0
    while at < len(text):
        head = _HEAD.match(text, at)
        if head is None:
            raise invalid(f"cannot read filter at '{text[at : at + 40]}'")
        field, op = head.group(1), head.group(2)
        if field not in FIELDS[entity]:
            raise invalid(f"cannot filter {entity}s on '{field}'")
        value, at = _value(text, head.end())
        values = list(value) if isinstance(value, list) else [value]
        while op in ("in", "nin") and text.startswith(',"', at):
            more, at = _value(text, at + 1)
            values.append(more)
        if op not in ("in", "nin") and len(values) != 1:
            raise invalid(f"'{op}' takes one value")
        for v in values:
            comparable(field, v)  # refuses a malformed date or number now, not per record
        filters.append(Filter(field, op, tuple(values)))
        if at < len(text) and text[at] != ",":
            raise invalid(f"expected ',' after filter {field}")
        at += 1
    return filters
