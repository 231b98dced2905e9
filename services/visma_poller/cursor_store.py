"""Cursors live in a compacted Kafka topic, written in the same transaction as the events.

At start-up the poller reads the topic to its end (read_committed, so an aborted page's
cursor is never seen) and keeps the newest cursor per company and entity.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chassis.kafka.state import read_to_end
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from visma_poller.cursor import Cursor, PollInProgress

CURSOR_SCHEMA = "io.mlconnector.state.PollCursor"

SOURCE = "visma"


def cursor_key(tenant_id: str, company_id: str, entity_type: str) -> str:
    return f"{SOURCE}/{tenant_id}/{company_id}/{entity_type}"


def encode_cursor(
    serde: AvroSerde, cursor: Cursor, *, tenant_id: str, company_id: str, entity_type: str
) -> bytes:
    resume: dict[str, Any] | None = None
    if cursor.resume is not None:
        resume = {
            "since": cursor.resume.since,
            "started_at": cursor.resume.started_at,
            "next_page": cursor.resume.next_page,
        }
    return serde.encode(
        CURSOR_SCHEMA,
        {
            "source": SOURCE,
            "tenant_id": tenant_id,
            "company_id": company_id,
            "entity_type": entity_type,
            "since": cursor.since,
            "seen": sorted(cursor.seen),
            "resume": resume,
            "updated_at": datetime.now(UTC),
        },
    )


def decode_cursor(serde: AvroSerde, value: bytes) -> Cursor:
    _, record = serde.decode(value)
    resume = record["resume"]
    return Cursor(
        since=record["since"],
        seen=frozenset(record["seen"]),
        resume=PollInProgress(resume["since"], resume["started_at"], resume["next_page"])
        if resume
        else None,
    )


def load_cursors(settings: KafkaSettings, serde: AvroSerde, topic: str) -> dict[str, Cursor]:
    """Every committed cursor in the topic, newest per key."""
    values = read_to_end(settings, topic, client="visma-poller-cursors")
    return {key: decode_cursor(serde, value) for key, value in values.items()}
