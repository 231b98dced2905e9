"""Visma's ``lastModifiedDateTime`` + ``lastModifiedDateTimeCondition`` filter.

The two parameters must come together; formats are ``yyyy-MM-dd``,
``yyyy-MM-dd HH:mm:ss[.FFF]`` and ``yyyy-MM-ddTHH:mm:ss[.FFF]``. The live timezone is
UNCONFIRMED; the simulator reads every value as UTC, the zone it writes.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime

_FORMAT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?)?$")

CONDITIONS: dict[str, Callable[[datetime, datetime], bool]] = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}


class DateFilterError(ValueError):
    """The filter parameters are malformed; the API answers 400."""


def parse_visma_datetime(text: str) -> datetime:
    match = _FORMAT.match(text.strip())
    if match is None:
        raise DateFilterError(f"'{text}' is not a valid date time")
    year, month, day, hour, minute, second, fraction = match.groups()
    millis = int((fraction or "0").ljust(3, "0"))
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            millis * 1000,
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise DateFilterError(f"'{text}' is not a valid date time") from exc


def build_filter(value: str | None, condition: str | None) -> Callable[[datetime], bool] | None:
    """A predicate on a record's modification time, or None when no filter was asked."""
    if value is None and condition is None:
        return None
    if value is None or condition is None:
        raise DateFilterError(
            "lastModifiedDateTime and lastModifiedDateTimeCondition must be sent together"
        )
    compare = CONDITIONS.get(condition.strip())
    if compare is None:
        raise DateFilterError(f"'{condition}' is not a valid condition; use >, <, >= or <=")
    bound = parse_visma_datetime(value)
    return lambda moment: compare(moment, bound)
