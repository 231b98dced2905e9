"""A burst larger than librdkafka's local queue waits for room instead of failing: the writes
all land, in order. Where the broker takes nothing, the wait ends with a `ProduceError`."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer, ProduceError, confirm
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration

QUEUE = 50


def read_all(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-reader",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
    consumer.subscribe([topic])
    values: list[bytes] = []
    try:
        while len(values) < count:
            batch = consumer.consume(count, timeout=30)
            assert batch, f"only {len(values)} of {count} records within 30 s"
            values += [m.value() for m in batch if m.error() is None]
    finally:
        consumer.close()
    return values


def test_a_burst_over_the_local_queue_waits_for_room_and_lands_in_order(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"it.backpressure.{unique}"
    ensure_topics(AdminClient(settings.client_config("it")), [TopicSpec(topic, 1)])
    producer = EventProducer(settings, f"it-{unique}", max_queued=QUEUE)
    try:
        deliveries = [producer.send(topic, key="k", value=str(n).encode()) for n in range(2000)]
        confirm(deliveries)
    finally:
        producer.close()
    sent = [str(n).encode() for n in range(2000)]
    assert read_all(kafka_bootstrap, topic, len(sent)) == sent


def test_a_full_queue_with_no_broker_fails_the_write_after_the_wait() -> None:
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:9")  # nothing listens there
    producer = EventProducer(settings, "it-nobroker", max_queued=3, queue_full_wait=0.3)
    try:
        for _ in range(3):
            producer.send("it.nowhere", key="k", value=b"x")
        with pytest.raises(ProduceError, match="Queue full"):
            producer.send("it.nowhere", key="k", value=b"x")
    finally:
        with pytest.raises(ProduceError, match="not confirmed"):
            producer.close(timeout=0.1)  # nothing can be delivered: close says so
