"""What the benchmarks do on the broker directly: topics, bulk produce, timed reads.

Rates are measured from the timestamps of the *output* records (set by each producer when it
sends), so the baseline and the processor are timed the same way and start-up, group joins
and the final wait are all outside the measured span.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from benchmarks.workload import Encoded
from chassis.topics import TopicSpec, ensure_topics

Progress = Callable[[str], None]


class BenchmarkError(Exception):
    """The run cannot produce a meaningful figure (timeout, broker error, child crashed)."""


def admin(bootstrap: str) -> AdminClient:
    # log_level 4: no notice about purged background events when the client is released.
    return AdminClient({"bootstrap.servers": bootstrap, "log_level": 4})


def create_topics(bootstrap: str, names: Iterable[str], *, partitions: int) -> None:
    ensure_topics(admin(bootstrap), [TopicSpec(name, partitions) for name in names])


def delete_topics_containing(bootstrap: str, marker: str) -> list[str]:
    """Deletes every topic whose name contains this run's marker; returns their names."""
    client = admin(bootstrap)
    names = [name for name in client.list_topics(timeout=10).topics if marker in name]
    if names:
        for future in client.delete_topics(names, operation_timeout=30).values():
            future.result()
    return names


def produce(bootstrap: str, topic: str, records: list[Encoded]) -> None:
    """Sends every record and waits until the broker has acknowledged all of them."""
    failures: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20})
    for record in records:
        while True:
            try:
                producer.produce(topic, record.value, record.key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(60) or failures:
        raise BenchmarkError(f"producing to {topic} failed: {failures[:3] or 'flush timeout'}")


@dataclass
class Collected:
    """Output records read so far: how many, which ids, and their timestamp span."""

    records: int = 0
    ids: set[str] = field(default_factory=set)
    first_ms: int | None = None
    last_ms: int | None = None

    def add(self, timestamp_ms: int, record_id: str | None) -> None:
        self.records += 1
        if record_id is not None:
            self.ids.add(record_id)
        self.first_ms = timestamp_ms if self.first_ms is None else min(self.first_ms, timestamp_ms)
        self.last_ms = timestamp_ms if self.last_ms is None else max(self.last_ms, timestamp_ms)

    @property
    def distinct(self) -> int:
        return len(self.ids) if self.ids else self.records

    @property
    def span_seconds(self) -> float:
        if self.first_ms is None or self.last_ms is None:
            return 0.0
        return (self.last_ms - self.first_ms) / 1000

    def rate(self) -> float:
        """Distinct outputs per second of output timestamps (ms resolution, so at least 1 ms)."""
        return self.distinct / max(self.span_seconds, 0.001)


def collect(
    bootstrap: str,
    topic: str,
    *,
    expected: int,
    timeout: float,
    identify: Callable[[bytes], str] | None = None,
    check: Callable[[], None] = lambda: None,
    progress: Progress | None = None,
) -> Collected:
    """Reads `topic` from the start until `expected` distinct records or the deadline.

    `identify` names the input a record came from, so a redelivered duplicate is counted
    once; `check` runs every poll (it raises if the producing child died).
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        return _read_until(consumer, expected, timeout, identify, check, progress)
    finally:
        consumer.close()


def _read_until(
    consumer: Consumer,
    expected: int,
    timeout: float,
    identify: Callable[[bytes], str] | None,
    check: Callable[[], None],
    progress: Progress | None,
) -> Collected:
    seen = Collected()
    deadline = time.monotonic() + timeout
    next_report = time.monotonic() + 2
    while seen.distinct < expected:
        if time.monotonic() > deadline:
            raise BenchmarkError(f"only {seen.distinct:,} of {expected:,} outputs in {timeout}s")
        check()
        for message in consumer.consume(num_messages=1000, timeout=0.5):
            if message.error():
                raise BenchmarkError(f"reading outputs: {message.error()}")
            value = message.value()
            record_id = identify(value) if identify and value is not None else None
            seen.add(message.timestamp()[1], record_id)
        if progress and time.monotonic() >= next_report:
            progress(f"{seen.distinct:,} / {expected:,} outputs")
            next_report = time.monotonic() + 2
    return seen


def ensure_reachable(bootstrap: str) -> None:
    try:
        admin(bootstrap).list_topics(timeout=5)
    except KafkaException as exc:
        raise BenchmarkError(
            f"no Kafka broker at {bootstrap} ({exc}); start it with deploy/kafka/kafka.sh start"
        ) from exc
