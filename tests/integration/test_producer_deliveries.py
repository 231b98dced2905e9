"""One shared EventProducer, several writers: each learns the fate of its own writes only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from chassis.kafka.dlq import DeadLetters, FailureClass
from chassis.kafka.producer import EventProducer, ProduceError, confirm
from chassis.kafka.record import Record
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, dead_letter_topic, ensure_topics

pytestmark = pytest.mark.integration


def _tiny_topic(bootstrap: str, name: str) -> None:
    """A topic that refuses any record over 64 bytes: a write to it fails at the broker."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, 1, 1, config={"max.message.bytes": "64"})])[name].result()


def test_a_failed_write_is_reported_to_its_writer_and_not_to_another(
    kafka_bootstrap: str, unique: str
) -> None:
    """A ledger-like write that Kafka refuses, sent just before a dead letter on the same
    producer: the dead letter is confirmed (it landed), the refused write fails on its own."""
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    group = f"it-deliveries-{unique}"
    tiny = f"it.deliveries.{unique}.tiny"
    _tiny_topic(kafka_bootstrap, tiny)
    ensure_topics(AdminClient(settings.client_config("it")), [dead_letter_topic(group)])
    producer = EventProducer(settings, f"it-{unique}")
    try:
        refused = producer.send(tiny, key="command-1", value=b"x" * 500)
        record = Record("sink.it.v1", 0, 7, "chan-a", b"value", [])
        # raises if not confirmed
        DeadLetters(producer, group).send(record, failure=FailureClass.POISON, reason="poison")
        with pytest.raises(ProduceError, match=r"MSG_SIZE_TOO_LARGE|too large"):
            confirm([refused], timeout=30)
    finally:
        producer.close()


def test_confirm_waits_for_its_own_writes_only(kafka_bootstrap: str, unique: str) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"it.deliveries.{unique}.ok"
    ensure_topics(AdminClient(settings.client_config("it")), [TopicSpec(topic, 1)])
    producer = EventProducer(settings, f"it-{unique}")
    try:
        mine = [producer.send(topic, key=str(n), value=str(n).encode()) for n in range(20)]
        confirm(mine, timeout=30)
        assert all(d.done() and d.exception() is None for d in mine)
        stamp = datetime.now(UTC).isoformat().encode()
        producer.send_confirmed(topic, key="last", value=stamp)
    finally:
        producer.close()
