"""How an operator names where a replay starts and ends: a time or an offset.

A time is ISO-8601 (`2026-12-03T08:00:00Z`; without a zone, UTC) or relative to now (`30m`,
`2h`, `7d`, `90s`); an offset is `OFFSET` (every partition) or `PARTITION:OFFSET`
(repeatable). Anything else is a `ReplayUsageError` whose message is the operator's one line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from chassis.errors import PermanentError

_RELATIVE = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)(?P<unit>[smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_OFFSET = re.compile(r"^(?:(?P<partition>\d+):)?(?P<offset>\d+)$")


class ReplayUsageError(PermanentError):
    """The command line cannot be acted on; the message says why in one line."""


def parse_time(text: str, *, now: datetime, option: str) -> datetime:
    """An aware UTC time from ISO-8601 or a relative `30m`/`2h`/`7d`; never in the future."""
    relative = _RELATIVE.match(text.strip())
    if relative is not None:
        unit = _UNITS[relative["unit"]]
        return now - timedelta(**{unit: float(relative["amount"])})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReplayUsageError(
            f"{option} {text!r} is not a time: give ISO-8601 (2026-12-03T08:00:00Z) or "
            "a relative time (30m, 2h, 7d)"
        ) from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when > now:
        raise ReplayUsageError(f"{option} {text} is in the future (now is {_shown(now)})")
    return when


def parse_offsets(specs: list[str]) -> dict[int | None, int]:
    """`OFFSET` -> {None: OFFSET} (every partition); `P:OFFSET` -> {P: OFFSET}."""
    found: dict[int | None, int] = {}
    for spec in specs:
        match = _OFFSET.match(spec.strip())
        if match is None:
            raise ReplayUsageError(
                f"--from-offset {spec!r} is not OFFSET or PARTITION:OFFSET (e.g. 1200 or 3:1200)"
            )
        partition = None if match["partition"] is None else int(match["partition"])
        if partition in found:
            which = "every partition" if partition is None else f"partition {partition}"
            raise ReplayUsageError(f"--from-offset names {which} twice")
        found[partition] = int(match["offset"])
    if None in found and len(found) > 1:
        raise ReplayUsageError("--from-offset: give one OFFSET, or PARTITION:OFFSET pairs")
    return found


def _shown(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def shown(when: datetime) -> str:
    """A time as the replay prints it (UTC, seconds, Z)."""
    return _shown(when)
