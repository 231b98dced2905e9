"""The processor's batch transaction and processed markers on the real broker.

What a worker killed mid-batch leaves must never reach a read_committed reader, and a
restarted worker must find exactly the markers that were committed.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import TransactionalProducer
from chassis.kafka.state import iter_to_end
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from processor.delivery import BatchTransaction
from processor.handler import Record
from processor.processed import ProcessedMarkers

pytestmark = pytest.mark.integration


NOW = int(time.time() * 1000)
"""Versions are last-modified epoch millis; markers older than the horizon expire."""


def _record(partition: int) -> Record:
    return Record(key=None, value=b"", headers={}, topic="in", partition=partition, offset=0)


def test_a_killed_workers_open_batch_is_aborted_by_its_successor(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"it.delivery.{unique}"
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), [TopicSpec(topic, 3)])
    transactional_id = f"it-delivery-{unique}"
    killed = TransactionalProducer(settings, client="it-killed", transactional_id=transactional_id)

    async def batches() -> None:
        open_batch = BatchTransaction(killed)
        await asyncio.gather(
            *[open_batch.send(topic, key=f"k{n}", value=b"lost") for n in range(50)]
        )
        killed.close()  # on the broker, in a transaction nobody will commit
        successor = BatchTransaction(
            TransactionalProducer(settings, client="it-next", transactional_id=transactional_id)
        )
        for n in range(20):
            await successor.send(topic, key=f"k{n}", value=b"kept")
        await successor.commit()

    asyncio.run(batches())
    values = [value for _, value in iter_to_end(settings, topic, client=f"it-read-{unique}")]
    assert values == [b"kept"] * 20


def test_markers_count_once_committed_and_load_by_input_partition(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"it.processed.{unique}"
    spec = TopicSpec(topic, 2, compacted=True)
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), [spec])
    producer = TransactionalProducer(settings, client="it-m", transactional_id=f"it-m-{unique}")
    transaction = BatchTransaction(producer)
    markers = ProcessedMarkers(settings, topic, transaction, client=f"it-m-{unique}")

    async def work() -> None:
        markers.remember(_record(0), "a", NOW + 1)
        markers.remember(_record(1), "b", NOW + 2)
        markers.remember(_record(0), "a", NOW + 3)
        assert markers.versions == {}  # nothing counts before the commit
        await transaction.commit()
        markers.committed()
        markers.remember(_record(0), "c", NOW + 4)
        markers.discard()  # its batch failed: never committed

    asyncio.run(work())
    assert markers.versions == {"a": NOW + 3, "b": NOW + 2}
    restarted = ProcessedMarkers(settings, topic, transaction, client=f"it-m2-{unique}")
    asyncio.run(restarted.load([0]))
    assert restarted.versions == {"a": NOW + 3}
    asyncio.run(restarted.load([0, 1]))
    assert restarted.versions == {"a": NOW + 3, "b": NOW + 2}
