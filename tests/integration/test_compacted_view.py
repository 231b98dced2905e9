"""CompactedView on the real broker: reads what is there, follows what comes, waits bounded."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer
from chassis.kafka.view import CompactedView
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration


def test_view_reads_existing_follows_new_and_waits_bounded(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.view.{unique}"
    ensure_topics(AdminClient(settings.client_config("t")), [TopicSpec(topic, 3, compacted=True)])
    producer = EventProducer(settings, "t")
    for n in range(30):
        producer.send(topic, key=f"k{n % 10}", value=f"v{n}".encode())
    producer.flush()

    view = CompactedView(settings, [topic], decode=bytes.decode, client=f"t-{unique}").start()
    try:
        assert view.wait_until_caught_up(30)
        assert len(view) == 10
        assert view.get("k3") == "v23"  # the newest value of each key
        assert view.wait_for("late", timeout=0.3) is None  # bounded: gives up

        def later() -> None:
            time.sleep(0.5)
            producer.send(topic, key="late", value=b"here")
            producer.flush()

        threading.Thread(target=later).start()
        started = time.monotonic()
        assert view.wait_for("late", timeout=20) == "here"
        assert time.monotonic() - started < 20
    finally:
        view.stop()


def test_an_unreadable_record_is_skipped_and_the_view_goes_on(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.view.bad.{unique}"
    ensure_topics(AdminClient(settings.client_config("t")), [TopicSpec(topic, 1, compacted=True)])
    producer = EventProducer(settings, "t")
    producer.send(topic, key="bad", value=b"\xff\xfe")
    producer.send(topic, key="good", value=b"fine")
    producer.flush()
    view = CompactedView(settings, [topic], decode=bytes.decode, client=f"t-{unique}").start()
    try:
        assert view.wait_for("good", timeout=30) == "fine"
        assert view.get("bad") is None
    finally:
        view.stop()
