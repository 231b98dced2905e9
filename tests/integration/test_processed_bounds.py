"""Processed-markers on the real broker: a worker given input partitions reads only their
markers, and tombstones (in its batch transaction) the ones written longer ago than the
horizon (their Kafka timestamp, whatever the entity's version), so the compacted marker topic
and the worker's memory stay bounded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from chassis.kafka.expiry import Expiry
from chassis.kafka.producer import TransactionalProducer
from chassis.kafka.state import read_newest
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from processor.delivery import BatchTransaction
from processor.handler import Record
from processor.processed import ProcessedMarkers

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def millis(age: timedelta) -> int:
    return int((NOW - age).timestamp() * 1000)


def record(partition: int, *, written: timedelta = timedelta(0)) -> Record:
    """An input record written to its topic `written` ago."""
    return Record(
        key=None, value=b"", headers={}, topic="in", partition=partition, offset=0,
        timestamp_ms=millis(written),
    )  # fmt: skip


def write_marker(
    settings: KafkaSettings,
    topic: str,
    *,
    key: str,
    partition: int,
    version: int,
    written: timedelta,
) -> None:
    """A marker another worker wrote `written` ago (its Kafka timestamp)."""
    producer = Producer(settings.client_config("it-pb-old"))
    producer.produce(
        topic, key=key, value=str(version).encode(), partition=partition, timestamp=millis(written)
    )
    assert producer.flush(30) == 0


def test_a_worker_reads_its_partitions_markers_and_tombstones_the_expired(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"it.processed-bounds.{unique}"
    ensure_topics(AdminClient(settings.client_config("t")), [TopicSpec(topic, 2, compacted=True)])

    def worker(name: str) -> tuple[ProcessedMarkers, BatchTransaction]:
        producer = TransactionalProducer(settings, client=name, transactional_id=f"{name}-{unique}")
        transaction = BatchTransaction(producer)
        markers = ProcessedMarkers(
            settings, topic, transaction, client=f"{name}-{unique}",
            expiry=Expiry(timedelta(days=40)),
        )  # fmt: skip
        return markers, transaction

    # Recent versions whose markers were written longer ago than the horizon.
    write_marker(
        settings,
        topic,
        key="old",
        partition=0,
        version=millis(timedelta(days=1)),
        written=timedelta(days=41),
    )
    write_marker(
        settings,
        topic,
        key="other-old",
        partition=1,
        version=millis(timedelta(days=1)),
        written=timedelta(days=50),
    )
    first, transaction = worker("it-pb-1")

    async def process() -> None:
        # A version last modified 400 days ago (a backfill), processed now.
        first.remember(record(0), "young", millis(timedelta(days=400)))
        await transaction.commit()
        first.committed()

    asyncio.run(process())
    second, transaction = worker("it-pb-2")

    async def take_partition_0() -> None:
        await second.load([0])
        await transaction.commit()  # the batch that follows carries the tombstones
        second.committed()

    asyncio.run(take_partition_0())
    assert second.versions == {"young": millis(timedelta(days=400))}
    newest = read_newest(settings, topic, client=f"t-{unique}", partitions=[0, 1])
    assert newest["old"].value is None
    assert newest["old"].partition == 0
    assert newest["other-old"].value is not None  # partition 1 is not this worker's
    assert second.beyond_horizon(record(0, written=timedelta(days=41)))
    assert not second.beyond_horizon(record(0, written=timedelta(days=38)))
