"""The audit indexer on the real broker: it reads a fresh audit topic into its SQLite file,
commits each partition's offset to the end only once the records are in the file, sends a
record that is no audit event to its DLQ, a second pass over the same records (a
redelivery, a rebuild by resetting offsets) adds nothing, and a lost file is rebuilt from
the start of the topic by the same group."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from audit_index.config import AuditIndexSettings
from audit_index.fresh_start import GroupStillRunning, start_new_index_from_the_beginning
from audit_index.index_file import AuditIndexFile
from audit_index.inject import build
from chassis.audit import AUDIT_TOPIC
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import dead_letter_topic, ensure_topics
from mlc.audit import chain_for
from tests.unit.audit_index.lineage_trail import SLACK_TS, TWILIO_SID, encoded, trail

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
WAIT = 60.0


def _ends(bootstrap: str, topic: str, partitions: int = AUDIT_TOPIC.partitions) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused"})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        }
    finally:
        consumer.close()


def _committed(bootstrap: str, topic: str, group: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        wanted = [TopicPartition(topic, p) for p in range(AUDIT_TOPIC.partitions)]
        return {tp.partition: tp.offset for tp in consumer.committed(wanted, timeout=10)}
    finally:
        consumer.close()


def _index_until_caught_up(kafka: KafkaSettings, settings: AuditIndexSettings, topic: str) -> None:
    """Runs the indexer until its group's committed offsets reach the topic's ends."""
    bootstrap = kafka.bootstrap_servers
    ends = _ends(bootstrap, topic)

    async def run() -> None:
        app = build(kafka, settings)
        running = asyncio.ensure_future(app.run())
        deadline = time.monotonic() + WAIT
        try:
            # Assigned: past the fresh start (which may move the group back) and consuming.
            while not app.runner.assigned or ends != await asyncio.to_thread(
                _committed, bootstrap, topic, settings.group_id
            ):
                assert not running.done(), running
                assert time.monotonic() < deadline, "the indexer did not catch up"
                await asyncio.sleep(0.2)
        finally:
            app.stop()
            await running

    asyncio.run(run())


def test_the_indexer_writes_each_record_once_and_commits_after_the_file(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    prefix = f"test.lineage.{unique}."
    topic = prefix + AUDIT_TOPIC.name
    ensure_topics(AdminClient(kafka.client_config("t")), [replace(AUDIT_TOPIC, name=topic)])
    records = trail()
    values = encoded(SERDE, records)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    # Every record, a redelivery of the first five (a producer retry, a replay), and one
    # record that is not an audit event.
    pairs = list(zip(records, values, strict=True))
    for record, value in pairs + pairs[:5]:
        producer.produce(topic, key=record["entity_id"], value=value)
    producer.produce(topic, key="junk", value=b"not an audit event", partition=1)
    assert producer.flush(30) == 0

    path = tmp_path / "audit-index.sqlite3"
    settings = AuditIndexSettings(
        path=path, group_id=f"test-audit-index-{unique}", topic_prefix=prefix
    )  # fmt: skip
    _index_until_caught_up(kafka, settings, topic)

    index = AuditIndexFile.for_reading(path)
    assert index.size().records == len(records)
    for wanted in (SLACK_TS, TWILIO_SID, "000123", "cmd-pay"):
        chain = index.chain(wanted)
        assert [e["audit_id"] for e in chain] == [e["audit_id"] for e in chain_for(records, wanted)]
    ids_before = index.size().ids
    index.close()
    dlq = dead_letter_topic(settings.group_id).name
    assert _ends(kafka_bootstrap, dlq, partitions=1) == {0: 1}  # the junk record, and only it

    # A rebuild's second pass over the same topic (another group, the same file) adds nothing.
    _index_until_caught_up(
        kafka, settings.model_copy(update={"group_id": f"{settings.group_id}-again"}), topic
    )
    index = AuditIndexFile.for_reading(path)
    assert (index.size().records, index.size().ids) == (len(records), ids_before)
    index.close()

    # A lost file (a new volume, a rebuild): the same group starts over from the beginning.
    for lost in tmp_path.glob("audit-index.sqlite3*"):
        lost.unlink()
    _index_until_caught_up(kafka, settings, topic)
    index = AuditIndexFile.for_reading(path)
    assert (index.size().records, index.size().ids) == (len(records), ids_before)
    index.close()


def test_a_new_index_does_not_move_a_group_that_still_has_members(
    kafka_bootstrap: str, unique: str
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.lineage.{unique}.{AUDIT_TOPIC.name}"
    ensure_topics(AdminClient(kafka.client_config("t")), [replace(AUDIT_TOPIC, name=topic)])
    group = f"test-audit-index-busy-{unique}"
    member = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group})
    admin = AdminClient(kafka.client_config("t"))
    try:
        member.subscribe([topic])
        deadline = time.monotonic() + WAIT
        while not member.assignment():
            assert time.monotonic() < deadline, "the member got no partition"
            member.poll(0.2)
        member.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
        with pytest.raises(GroupStillRunning, match=group):
            start_new_index_from_the_beginning(
                admin, group=group, topic=topic, partitions=AUDIT_TOPIC.partitions
            )
    finally:
        member.close()
    # Once the member is gone, the group is moved back (its committed offset 0 stays 0).
    assert start_new_index_from_the_beginning(
        admin, group=group, topic=topic, partitions=AUDIT_TOPIC.partitions
    )
