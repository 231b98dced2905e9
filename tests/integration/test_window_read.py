"""Reading a window of history (`chassis.kafka.window.read_since`) on the real broker: from
the first offset at a time (the broker's time index), up to the end as of the start, and
never creating a topic or committing an offset."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from chassis.kafka.window import read_since
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration

T0 = 1_796_000_000_000
"""Epoch millis the window starts at (records carry the producer's timestamps)."""


def test_a_window_starts_at_its_time_and_ends_where_the_topic_ended_when_read(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.window.{unique}"
    ensure_topics(AdminClient(settings.client_config("test")), [TopicSpec(topic, partitions=2)])
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for n in range(6):  # three before the window, three in it, both partitions
        stamp = T0 - 600_000 + n if n < 3 else T0 + n
        producer.produce(topic, key=f"k{n}", value=f"{n}", partition=n % 2, timestamp=stamp)
    producer.produce(topic, key="k5", value=None, partition=1, timestamp=T0 + 9)  # tombstone
    producer.flush(30)

    window = read_since(settings, [topic, f"test.window.absent.{unique}"], since_ms=T0,
                        client=f"test-{unique}")  # fmt: skip
    first = next(window)
    for n in range(3):  # written after the read began: not in this window
        producer.produce(topic, key=f"late{n}", value="late", partition=n % 2, timestamp=T0 + 50)
    producer.flush(30)
    found = [first, *window]

    assert sorted((r.key, r.value, r.timestamp_ms) for r in found if r.value is not None) == [
        ("k3", b"3", T0 + 3),
        ("k4", b"4", T0 + 4),
        ("k5", b"5", T0 + 5),
    ]
    tombstones = [r for r in found if r.value is None]
    assert [(r.key, r.partition) for r in tombstones] == [("k5", 1)]
    by_partition = [r.offset for r in found if r.partition == 1]
    assert by_partition == sorted(by_partition), "in order within a partition"
    assert (
        f"test.window.absent.{unique}"
        not in AdminClient(settings.client_config("test")).list_topics(timeout=10).topics
    ), "a topic that is not there is not created"
    assert list(read_since(settings, [topic], since_ms=T0 + 1000, client=f"test-{unique}")) == []
