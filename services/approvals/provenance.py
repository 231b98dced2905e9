"""Whether a Slack message the sink's ledger does not name could still be one the connector posted.

A gesture on a message with no ledger entry is either early (the sink has posted, its DONE
entry is on its way) or on a message the connector never posted (any person's message in a
watched channel). Waiting out the budget for the second kind writes to the audit trail and
holds the partition's offset for a day, so the two are told apart. The sink writes DONE within
moments of its post, so once the ledger view has read everything written up to the post's
time plus a margin, the entry would be here by now, unless the sink was interrupted between
post and DONE: then a PENDING entry (written just before the post) lies within the margin of
the post, and the sink will write DONE once it has found its post again. Slack's ts is the
post's time, so no call to Slack is needed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

FOREIGN_MARGIN_SECONDS = 300.0
"""How long after a post its ledger entry may still arrive (sink latency, clock skew)."""


def posted_at(message_ts: str) -> datetime | None:
    """The post's time from its Slack ts (seconds since the epoch); None if it is no ts."""
    try:
        return datetime.fromtimestamp(float(message_ts), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def may_still_arrive(
    *,
    posted: datetime | None,
    read_through: datetime | None,
    pending_nearby: bool,
    margin: timedelta,
) -> bool:
    """Whether the ledger entry of a message posted at `posted` may still come, given that
    the ledger view has read every record written before `read_through` (None: not caught
    up) and whether an unresolved PENDING entry in its channel lies within `margin` of it."""
    if posted is None:
        return False  # not a Slack ts: no ledger entry can ever name it
    if read_through is None or posted + margin >= read_through:
        return True
    return pending_nearby
