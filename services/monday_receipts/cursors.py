"""Where the reconciliation stands on each board, as a `PollCursor` record (`source="monday"`).

Pure logic plus its encoding. `since` is where the next run reads from: a little (the
overlap) before the newest update read so far, never earlier than it was. `seen` holds the
versions (item@updated-millis) read at or after `since`, so the overlap publishes nothing
twice; it is bounded like the Visma poller's, so the cursor stays a small record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chassis.kafka.state import read_to_end
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings

CURSOR_SCHEMA = "io.mlconnector.state.PollCursor"
SOURCE = "monday"
ENTITY = "item"
MAX_REMEMBERED = 5000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cursor_key(tenant_id: str, board_id: str) -> str:
    return f"{SOURCE}/{tenant_id}/{board_id}"


@dataclass(frozen=True)
class BoardCursor:
    since: datetime
    seen: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def after_run(
        cls, before: BoardCursor | None, read: Mapping[str, datetime], *, overlap: timedelta
    ) -> BoardCursor:
        """The cursor once the versions `read` (version -> update time) are committed."""
        floor = EPOCH if before is None else before.since
        newest = max(read.values(), default=None)
        since = floor if newest is None else max(floor, newest - overlap)
        kept = {v: t for v, t in read.items() if t >= since}
        if before is not None:
            kept |= {v: _time_of(v) for v in before.seen if _time_of(v) >= since}
        newest_first = sorted(kept, key=lambda v: kept[v], reverse=True)[:MAX_REMEMBERED]
        return cls(since=since, seen=frozenset(newest_first))


def _time_of(version: str) -> datetime:
    return datetime.fromtimestamp(int(version.rsplit("@", 1)[1]) / 1000, UTC)


def encode_cursor(serde: AvroSerde, cursor: BoardCursor, *, tenant_id: str, board_id: str) -> bytes:
    return serde.encode(
        CURSOR_SCHEMA,
        {
            "source": SOURCE,
            "tenant_id": tenant_id,
            "company_id": board_id,
            "entity_type": ENTITY,
            "since": cursor.since,
            "seen": sorted(cursor.seen),
            "resume": None,
            "updated_at": datetime.now(UTC),
        },
    )


def load_cursors(settings: KafkaSettings, serde: AvroSerde, topic: str) -> dict[str, BoardCursor]:
    """Every committed monday cursor in the topic, newest per key (other sources' skipped)."""
    values = read_to_end(settings, topic, client="monday-receipts-cursors")
    cursors = {}
    for key, value in values.items():
        if not key.startswith(f"{SOURCE}/"):
            continue
        _, record = serde.decode(value)
        cursors[key] = BoardCursor(since=record["since"], seen=frozenset(record["seen"]))
    return cursors
