"""Reading only the newest records of a topic (`iter_to_end(tail=N)`), on the real broker:
the mapping wizard previews the newest Visma record without reading the whole topic."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer, confirm
from chassis.kafka.state import iter_to_end
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration


def test_tail_reads_only_the_last_offsets_of_each_partition(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.state-tail.{unique}"
    ensure_topics(AdminClient(settings.client_config("test")), [TopicSpec(topic, partitions=2)])
    producer = EventProducer(settings, f"test-{uuid.uuid4().hex[:6]}")
    try:
        confirm([
            producer.send(topic, key=f"k{n % 2}", value=f"{n}".encode(), partition=n % 2)
            for n in range(30)
        ])  # fmt: skip
    finally:
        producer.close()
    client = f"test-{unique}"

    tail = sorted(int(v) for _, v in iter_to_end(settings, topic, client=client, tail=3))
    everything = [v for _, v in iter_to_end(settings, topic, client=client)]

    assert tail == [24, 25, 26, 27, 28, 29]  # the last 3 of each partition
    assert len(everything) == 30
