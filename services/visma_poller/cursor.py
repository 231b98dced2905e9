"""The delta cursor: which changes a poll asks for and which it has already published.

Pure logic, no I/O. A poll asks for everything modified at or after `since`. Visma lists are
read page by page in a stable order, so a poll interrupted after page k goes on at page k+1
with the same filter. When a poll ends, the next `since` is the server's clock at the start
of that poll minus an overlap (for late-visible changes and clock skew); versions published
at or after the new `since` are remembered so the overlap publishes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta


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

    def after_page(
        self, poll: PollInProgress, published: dict[str, datetime], *, overlap: timedelta
    ) -> Cursor:
        """The cursor once one more page of `poll` is committed with `published` versions."""
        keep_from = poll.started_at - overlap
        seen = self.seen | {v for v, modified in published.items() if modified >= keep_from}
        return replace(self, seen=seen, resume=replace(poll, next_page=poll.next_page + 1))

    def after_poll(self, poll: PollInProgress, *, overlap: timedelta) -> Cursor:
        """The cursor once every page of `poll` is committed."""
        since = max(self.since, poll.started_at - overlap)
        seen = frozenset(v for v in self.seen if version_time(v) >= since)
        return Cursor(since=since, seen=seen, resume=None)


def version_of(entity_id: str, modified: datetime) -> str:
    return f"{entity_id}@{int(modified.timestamp() * 1000)}"


def version_time(version: str) -> datetime:
    millis = int(version.rsplit("@", 1)[1])
    return datetime.fromtimestamp(millis / 1000, UTC)
