"""The Visma poller's cursors in the compacted cursor topic (`chassis.kafka.poll_cursors`)."""

from __future__ import annotations

from chassis.delta_cursor import Cursor
from chassis.kafka.poll_cursors import (
    CURSOR_SCHEMA,
    decode_poll_cursor,
    encode_poll_cursor,
    load_poll_cursors,
    poll_cursor_key,
)
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings

__all__ = [
    "CURSOR_SCHEMA",
    "SOURCE",
    "cursor_key",
    "decode_cursor",
    "encode_cursor",
    "load_cursors",
]

SOURCE = "visma"


def cursor_key(tenant_id: str, company_id: str, entity_type: str) -> str:
    return poll_cursor_key(SOURCE, tenant_id, company_id, entity_type)


def encode_cursor(
    serde: AvroSerde, cursor: Cursor, *, tenant_id: str, company_id: str, entity_type: str
) -> bytes:
    return encode_poll_cursor(
        serde, cursor, source=SOURCE, tenant_id=tenant_id, company_id=company_id,
        entity_type=entity_type,
    )  # fmt: skip


def decode_cursor(serde: AvroSerde, value: bytes) -> Cursor:
    return decode_poll_cursor(serde, value)


def load_cursors(settings: KafkaSettings, serde: AvroSerde, topic: str) -> dict[str, Cursor]:
    """Every committed cursor in the topic, newest per key."""
    return load_poll_cursors(settings, serde, topic, client="visma-poller-cursors")
