"""One key, one partition, whichever client writes it.

The processor's commands leave through librdkafka (EventProducer) while faust's own writes
(reminders, tables) go through aiokafka; the sinks keep a channel's order and pace only if
both clients put a key on the same partition.
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer
from chassis.kafka.state import watermarks
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration

PARTITIONS = 3


def _keys_by_partition(settings: KafkaSettings, topic: str) -> dict[int, set[str]]:
    consumer = Consumer(
        settings.client_config("test-partitioning")
        | {"group.id": f"test-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False}
    )
    found: dict[int, set[str]] = {}
    try:
        for partition in range(PARTITIONS):
            tp = TopicPartition(topic, partition)
            low, high = watermarks(consumer, tp)
            consumer.assign([TopicPartition(topic, partition, low)])
            keys: set[str] = set()
            while low + len(keys) < high:
                message = consumer.poll(5.0)
                assert message is not None, f"partition {partition} ended early"
                assert message.error() is None
                keys.add(message.key().decode())
            found[partition] = keys
    finally:
        consumer.close()
    return found


def test_librdkafka_writes_each_key_where_aiokafka_would(kafka_bootstrap: str, unique: str) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.partitioning.{unique}"
    spec = TopicSpec(topic, partitions=PARTITIONS)
    ensure_topics(AdminClient(settings.client_config("test")), [spec])
    keys = [f"acme/#channel-{n}" for n in range(60)]
    producer = EventProducer(settings, "test-partitioning")
    for key in keys:
        producer.send(topic, key=key, value=b"x")
    producer.flush()

    aiokafka = DefaultPartitioner()
    partitions = list(range(PARTITIONS))
    expected: dict[int, set[str]] = {p: set() for p in partitions}
    for key in keys:
        expected[aiokafka(key.encode(), partitions, partitions)].add(key)
    assert all(expected.values()), "the keys should spread over every partition"
    assert _keys_by_partition(settings, topic) == expected
