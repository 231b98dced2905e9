"""CompactedView on the real broker: reads what is there, follows what comes, waits bounded,
says up to when it has read everything, and fails loudly when its reader dies."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer
from chassis.kafka.view import CompactedView, ViewFailedError
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


def test_a_view_whose_reader_dies_says_why_and_every_wait_raises(
    kafka_bootstrap: str, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.view.dies.{unique}"
    ensure_topics(AdminClient(settings.client_config("t")), [TopicSpec(topic, 1, compacted=True)])
    producer = EventProducer(settings, "t")
    producer.send(topic, key="gone", value=None)  # a tombstone; the index's callback fails
    producer.flush()

    def broken_index(key: str) -> None:
        raise RuntimeError(f"index lost {key}")

    view = CompactedView(
        settings, [topic], decode=bytes.decode, client=f"t-{unique}", on_removed=broken_index
    ).start()
    try:
        with pytest.raises(ViewFailedError, match="RuntimeError: index lost gone"):
            view.wait_until_caught_up(30)
        assert view.failure is not None
        with pytest.raises(ViewFailedError):
            view.wait_for("anything", timeout=5)
        assert view.read_through() is None
    finally:
        view.stop()
    failed = [r for r in caplog.records if r.getMessage() == "compacted view failed"]
    assert [r.levelno for r in failed] == [logging.ERROR]
    assert "index lost gone" in failed[0].reason  # type: ignore[attr-defined]


def test_read_through_follows_the_slowest_partition_and_is_now_at_the_end(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.view.through.{unique}"
    ensure_topics(AdminClient(settings.client_config("t")), [TopicSpec(topic, 3, compacted=True)])
    producer = EventProducer(settings, "t")
    producer.send(topic, key="k", value=b"v")  # one partition has a record, two are empty
    producer.flush()
    before = datetime.now(UTC)
    view = CompactedView(settings, [topic], decode=bytes.decode, client=f"t-{unique}").start()
    try:
        assert view.wait_until_caught_up(30)
        deadline = time.monotonic() + 30
        through = view.read_through()
        while through is None or through < before:  # until every partition reported its end
            assert time.monotonic() < deadline, f"read through {through}, not past {before}"
            time.sleep(0.05)
            through = view.read_through()
        assert through <= datetime.now(UTC)
    finally:
        view.stop()


def test_the_view_knows_the_partition_each_keys_newest_value_came_from(
    kafka_bootstrap: str, unique: str
) -> None:
    """A ledger entry sits on its command's partition, which its key does not tell; a
    writer that updates the entry from the view must write it to the same partition."""
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.view.partitions.{unique}"
    ensure_topics(AdminClient(settings.client_config("t")), [TopicSpec(topic, 3, compacted=True)])
    producer = EventProducer(settings, "t")
    for n in range(9):
        producer.send(topic, key=f"k{n}", value=f"v{n}".encode(), partition=n % 3)
    producer.send(topic, key="gone", value=b"x", partition=2)
    producer.send(topic, key="gone", value=None, partition=2)
    producer.flush()

    view = CompactedView(settings, [topic], decode=bytes.decode, client=f"t-{unique}").start()
    try:
        assert view.wait_until_caught_up(30)
        assert {f"k{n}": view.partition_of(f"k{n}") for n in range(9)} == {
            f"k{n}": n % 3 for n in range(9)
        }
        assert view.partition_of("gone") is None
    finally:
        view.stop()
        producer.close()
