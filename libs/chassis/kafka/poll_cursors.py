"""Pollers' cursors on Kafka: a `PollCursor` record per source, tenant, company and entity.

Written in the same transaction as the events a page covers; read back at start-up to the
topic's end (read_committed, so an aborted page's cursor is never seen). Every poller
(Visma's, BILL's) shares the topic and tells its own keys by `source`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chassis.delta_cursor import Cursor, PollInProgress
from chassis.kafka.state import read_to_end
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings

CURSOR_SCHEMA = "io.mlconnector.state.PollCursor"


def poll_cursor_key(source: str, tenant_id: str, company_id: str, entity_type: str) -> str:
    return f"{source}/{tenant_id}/{company_id}/{entity_type}"


def encode_poll_cursor(
    serde: AvroSerde,
    cursor: Cursor,
    *,
    source: str,
    tenant_id: str,
    company_id: str,
    entity_type: str,
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
            "source": source,
            "tenant_id": tenant_id,
            "company_id": company_id,
            "entity_type": entity_type,
            "since": cursor.since,
            "seen": sorted(cursor.seen),
            "resume": resume,
            "updated_at": datetime.now(UTC),
        },
    )


def decode_poll_cursor(serde: AvroSerde, value: bytes) -> Cursor:
    _, record = serde.decode(value)
    resume = record["resume"]
    return Cursor(
        since=record["since"],
        seen=frozenset(record["seen"]),
        resume=PollInProgress(resume["since"], resume["started_at"], resume["next_page"])
        if resume
        else None,
    )


def load_poll_cursors(
    settings: KafkaSettings, serde: AvroSerde, topic: str, *, client: str, source: str | None = None
) -> dict[str, Cursor]:
    """Every committed cursor in the topic, newest per key; only `source`'s when named."""
    values = read_to_end(settings, topic, client=client)
    return {
        key: decode_poll_cursor(serde, value)
        for key, value in values.items()
        if source is None or key.startswith(f"{source}/")
    }
