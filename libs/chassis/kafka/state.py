"""Reading a topic to its end: every record, or the newest value of every key.

Sources keep cursors and sinks keep delivery ledgers in compacted topics; at start-up (and
after a rebalance) they read the topic, or only the partitions they were given, committed
records only, to rebuild their view. `read_newest` also reports tombstones and when each
value was written, for state that expires (`chassis.kafka.ledger`).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from chassis.settings import KafkaSettings

LOAD_TIMEOUT_SECONDS = 120.0
LEADER_WAIT_SECONDS = 30.0


class StateLoadError(Exception):
    """The state topic could not be read to its end; going on without it would repeat work."""


def watermarks(consumer: Consumer, tp: TopicPartition) -> tuple[int, int]:
    """Low and high offsets; a partition that was just created may need a moment to load
    (the broker answers NOT_LEADER until then, which librdkafka does not flag retriable)."""
    deadline = time.monotonic() + LEADER_WAIT_SECONDS
    while True:
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            return int(low), int(high)
        except KafkaException as exc:
            if time.monotonic() > deadline:
                raise StateLoadError(f"cannot read offsets of {tp.topic}: {exc}") from exc
            time.sleep(0.2)


def read_to_end(
    settings: KafkaSettings, topic: str, *, client: str, partitions: Collection[int] | None = None
) -> dict[str, bytes]:
    """The newest value of every key (what a compacted topic means)."""
    records = iter_to_end(settings, topic, client=client, partitions=partitions)
    return {key: value for key, value in records if key is not None}


@dataclass(frozen=True)
class StateRecord:
    """The newest record of a key: `value` None is a tombstone (the key was removed)."""

    key: str
    value: bytes | None
    partition: int
    timestamp_ms: int


def read_newest(
    settings: KafkaSettings, topic: str, *, client: str, partitions: Collection[int]
) -> dict[str, StateRecord]:
    """The newest record of every key in `partitions` of a compacted topic, tombstones included
    (a caller that expires state must see that a key was removed, not its older value)."""
    newest: dict[str, StateRecord] = {}
    for message in _messages_to_end(settings, topic, client=client, partitions=partitions):
        key, value = message.key(), message.value()
        partition = message.partition()
        if key is None or partition is None:
            continue
        name = key.decode() if isinstance(key, bytes) else key
        _, timestamp_ms = message.timestamp()
        raw = value.encode() if isinstance(value, str) else value
        newest[name] = StateRecord(name, raw, partition, timestamp_ms)
    return newest


def iter_to_end(
    settings: KafkaSettings,
    topic: str,
    *,
    client: str,
    partitions: Collection[int] | None = None,
    tail: int | None = None,
    metadata_timeout: float = 30.0,
) -> Iterator[tuple[str | None, bytes]]:
    """Every committed record of the topic as it is now (or of `partitions` of it), in order
    within each partition; with `tail`, only those among the last `tail` offsets of each
    partition (transaction markers take offsets too), for a glance at the newest records.
    `metadata_timeout`: how long to wait for the broker to describe the topic."""
    messages = _messages_to_end(
        settings, topic, client=client, partitions=partitions, tail=tail,
        metadata_timeout=metadata_timeout,
    )  # fmt: skip
    for message in messages:
        key, value = message.key(), message.value()
        if isinstance(value, bytes):
            yield (key.decode() if isinstance(key, bytes) else key), value


def read_range(
    settings: KafkaSettings,
    topic: str,
    *,
    client: str,
    starts: Mapping[int, int],
    stops: Mapping[int, int],
) -> Iterator[Message]:
    """The committed records of `topic` from `starts[p]` up to (not including) `stops[p]`
    (or the partition's end, if sooner), for each partition p of `starts`."""
    return _messages_to_end(
        settings, topic, client=client, partitions=list(starts), starts=starts, stops=stops
    )


def _messages_to_end(
    settings: KafkaSettings,
    topic: str,
    *,
    client: str,
    partitions: Collection[int] | None,
    tail: int | None = None,
    metadata_timeout: float = 30.0,
    starts: Mapping[int, int] | None = None,
    stops: Mapping[int, int] | None = None,
) -> Iterator[Message]:
    consumer = Consumer(
        settings.client_config(client)
        | {
            "group.id": f"{client}-state-reader",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=metadata_timeout).topics[topic]
        if metadata.error is not None:
            raise StateLoadError(f"cannot read {topic}: {metadata.error}")
        wanted = metadata.partitions if partitions is None else partitions
        ends: dict[int, int] = {}
        assignment = []
        for partition in wanted:
            tp = TopicPartition(topic, partition)
            start, end = _bounds(watermarks(consumer, tp), partition, tail, starts, stops)
            if end > start:
                ends[partition] = end
                assignment.append(TopicPartition(topic, partition, start))
        consumer.assign(assignment)
        deadline = time.monotonic() + LOAD_TIMEOUT_SECONDS
        while ends:
            if time.monotonic() > deadline:
                raise StateLoadError(f"could not read {topic} to its end")
            for message in consumer.consume(1000, 0.2):
                if not message.error() and _before_stop(message, stops):
                    yield message
            # Positions move past transaction markers too, which messages never show.
            for tp in consumer.position([TopicPartition(topic, p) for p in list(ends)]):
                if tp.offset >= ends[tp.partition]:
                    ends.pop(tp.partition)
    finally:
        consumer.close()


def _bounds(
    offsets: tuple[int, int],
    partition: int,
    tail: int | None,
    starts: Mapping[int, int] | None,
    stops: Mapping[int, int] | None,
) -> tuple[int, int]:
    """Where a read of `partition` starts and ends, given its low and high `offsets`."""
    low, high = offsets
    start = low if tail is None else max(low, high - tail)
    if starts is not None:
        start = max(low, starts[partition])
    end = high if stops is None else min(high, stops.get(partition, high))
    return start, end


def _before_stop(message: Message, stops: Mapping[int, int] | None) -> bool:
    """A bounded read drops what its partition holds at or past its stop offset."""
    if stops is None:
        return True
    stop = stops.get(message.partition() or 0)
    return stop is None or (message.offset() or 0) < stop
