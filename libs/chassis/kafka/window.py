"""Reading a window of history back from topics: every record written since a time, up to
the end each partition had when the read began.

Operators look back ("what happened in the last 7 days?") without joining a consumer group
and without moving anybody's offsets: the start of each partition comes from the broker's
time index (`offsets_for_times`), the end is its high watermark when the read starts, so a
topic that keeps growing meanwhile does not make the read endless. Committed records only
(`read_committed`): what a transactional producer aborted never happened. Nothing is
written: no group offsets are committed and no topic is created (a topic that does not
exist simply has no history).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

from chassis.kafka.state import LOAD_TIMEOUT_SECONDS, StateLoadError, watermarks
from chassis.settings import KafkaSettings


@dataclass(frozen=True)
class WindowRecord:
    """One record of the window, with where and when it was written."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: str | None
    value: bytes | None
    """None: a tombstone (the key was removed from a compacted topic)."""


def read_since(
    settings: KafkaSettings,
    topics: Iterable[str],
    *,
    since_ms: int,
    client: str,
    metadata_timeout: float = 30.0,
) -> Iterator[WindowRecord]:
    """Every committed record of `topics` written at or after `since_ms` (epoch millis), in
    order within each partition, up to each partition's end as of the start of the read."""
    consumer = Consumer(
        settings.client_config(client)
        | {
            "group.id": f"{client}-window-reader",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "allow.auto.create.topics": False,
        }
    )
    try:
        ends = _bounds(consumer, list(dict.fromkeys(topics)), since_ms, metadata_timeout)
        yield from _consume(consumer, ends)
    finally:
        consumer.close()


def _bounds(
    consumer: Consumer, topics: list[str], since_ms: int, metadata_timeout: float
) -> dict[tuple[str, int], int]:
    """Assigns each partition of `topics` from its first offset at `since_ms`; returns the end
    offset of each partition that has records in the window."""
    try:
        known = consumer.list_topics(timeout=metadata_timeout).topics
    except KafkaException as exc:
        raise StateLoadError(f"cannot list topics: {exc}") from exc
    wanted = [
        TopicPartition(topic, partition, since_ms)
        for topic in topics
        if topic in known
        for partition in known[topic].partitions
    ]
    if not wanted:
        return {}
    try:
        starts = consumer.offsets_for_times(wanted, timeout=metadata_timeout)
    except KafkaException as exc:
        raise StateLoadError(f"cannot find offsets by time: {exc}") from exc
    ends: dict[tuple[str, int], int] = {}
    assignment = []
    for start in starts:
        _, high = watermarks(consumer, TopicPartition(start.topic, start.partition))
        # -1: nothing written at or after since_ms in this partition.
        if start.offset < 0 or start.offset >= high:
            continue
        ends[(start.topic, start.partition)] = high
        assignment.append(TopicPartition(start.topic, start.partition, start.offset))
    consumer.assign(assignment)
    return ends


def _consume(consumer: Consumer, ends: dict[tuple[str, int], int]) -> Iterator[WindowRecord]:
    deadline = time.monotonic() + LOAD_TIMEOUT_SECONDS
    while ends:
        if time.monotonic() > deadline:
            left = ", ".join(f"{t}/{p}" for t, p in sorted(ends))
            raise StateLoadError(f"could not read to the end of {left}")
        for message in consumer.consume(1000, 0.2):
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            if message.error() or topic is None or partition is None or offset is None:
                continue
            end = ends.get((topic, partition))
            value = message.value()
            if end is None or offset >= end:
                continue  # past the end as of the start
            key = message.key()
            yield WindowRecord(
                topic=topic, partition=partition, offset=offset,
                timestamp_ms=message.timestamp()[1],
                key=key.decode(errors="replace") if isinstance(key, bytes) else key,
                value=value if isinstance(value, bytes) else None,
            )  # fmt: skip
        # Positions move past transaction markers too, which messages never show.
        positions = consumer.position([TopicPartition(t, p) for t, p in list(ends)])
        for tp in positions:
            if tp.offset >= ends[(tp.topic, tp.partition)]:
                ends.pop((tp.topic, tp.partition))
                consumer.pause([TopicPartition(tp.topic, tp.partition)])
