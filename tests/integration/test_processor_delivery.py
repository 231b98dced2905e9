"""FlushedProducer on the real broker: a batch's records share one flush, and each is there."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from processor.delivery import FlushedProducer

pytestmark = pytest.mark.integration


def _read(kafka: str, topic: str, want: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": uuid.uuid4().hex,
                         "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe([topic])
    values: list[bytes] = []
    try:
        for _ in range(60):
            values += [m.value() for m in consumer.consume(100, timeout=0.5) if not m.error()]
            if len(values) >= want:
                break
    finally:
        consumer.close()
    return values


def test_records_sent_before_a_flush_share_it_and_are_on_the_broker(kafka_bootstrap: str) -> None:
    topic = f"it.delivery.{uuid.uuid4().hex[:8]}"
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), [TopicSpec(topic, 3)])
    producer = FlushedProducer(EventProducer(KafkaSettings(bootstrap_servers=kafka_bootstrap),
                                             "it-delivery"))  # fmt: skip

    async def batch() -> None:
        first = [producer.send(topic, key=f"k{n}", value=f"a{n}".encode()) for n in range(50)]
        assert all(sent is first[0] for sent in first)
        await asyncio.gather(*first)
        later = producer.send(topic, key="k", value=b"b")
        assert later is not first[0]  # the first flush had started: this record needs another
        await later

    asyncio.run(batch())
    values = _read(kafka_bootstrap, topic, 51)
    assert sorted(values) == sorted([f"a{n}".encode() for n in range(50)] + [b"b"])
