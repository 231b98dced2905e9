"""The delta cursor: which changes a poll asks for and which it has already published.

Pure logic, no I/O, shared by every poller of a source with a modification time (Visma's
lastModifiedDateTime, BILL's updatedTime). A poll asks for everything modified at or
after `since`, page by page; a poll interrupted after page k goes on at page k+1 with the
same filter. When a poll ends,
the next `since` is the server's clock at the start of that poll minus an overlap (for
late-visible changes and clock skew).

Visma does not document its list order, and an order that is not by modification time
shifts under a poll when records are inserted or deleted: a record is read twice, or moves
back past a page edge and is never read. So:

- every version published during a poll is remembered (`seen`) until the poll ends, and
  after it those at or after the new `since`: the overlap, a shifted page or a re-read
  window publishes nothing twice;
- a poll during which the result set moved (its total changed between pages, fewer
  distinct records were read than it holds, or it resumed after a crash and cannot tell)
  keeps `since` where it was, so the next poll reads the window again and catches what a
  shift hid.

The memory is bounded (`MAX_REMEMBERED` newest versions) so that the cursor, written with
every page, stays a small Kafka record whatever the size of the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

MAX_REMEMBERED = 5000
"""Versions a cursor remembers at most (the newest); about 40 bytes each on Kafka."""


@dataclass(frozen=True)
class PollInProgress:
    since: datetime
    started_at: datetime
    next_page: int


@dataclass(frozen=True)
class Cursor:
    since: datetime
    seen: frozenset[str] = field(default_factory=frozenset)
    resume: PollInProgress | None = None

    def begin(self, server_now: datetime) -> PollInProgress:
        """The poll to run now: a resumed one, or a new one from `since`."""
        return self.resume or PollInProgress(since=self.since, started_at=server_now, next_page=1)

    def is_new(self, version: str) -> bool:
        return version not in self.seen

    def after_page(self, poll: PollInProgress, published: dict[str, datetime]) -> Cursor:
        """The cursor once one more page of `poll` is committed with `published` versions."""
        seen = _newest(self.seen.union(published))
        return replace(self, seen=seen, resume=replace(poll, next_page=poll.next_page + 1))

    def after_poll(self, poll: PollInProgress, *, overlap: timedelta, moved: bool) -> Cursor:
        """The cursor once every page of `poll` is committed.

        `moved`: the result set changed under the poll, so a record may have been skipped;
        `since` stays and the next poll reads the same window again.
        """
        since = self.since if moved else max(self.since, poll.started_at - overlap)
        seen = frozenset(v for v in self.seen if version_time(v) >= since)
        return Cursor(since=since, seen=seen, resume=None)


def _newest(versions: frozenset[str]) -> frozenset[str]:
    if len(versions) <= MAX_REMEMBERED:
        return frozenset(versions)
    return frozenset(sorted(versions, key=version_time)[-MAX_REMEMBERED:])


def version_of(entity_id: str, modified: datetime) -> str:
    return f"{entity_id}@{int(modified.timestamp() * 1000)}"


def version_time(version: str) -> datetime:
    millis = int(version.rsplit("@", 1)[1])
    return datetime.fromtimestamp(millis / 1000, UTC)
