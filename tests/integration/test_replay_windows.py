"""`mlc replay`'s broker side on the real broker: where a window starts and ends in each
partition (by time or offset), the one-line refusals of an offset or a time Kafka does not
hold, and a reset that never moves a group past what it has not consumed.

A fresh three-partition topic holds records with known timestamps (hours after a base time);
the group has committed partitions 0 and 1 only, so the offsets each step must reach are
known in advance.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from chassis.topics import DAY_MS, TopicSpec, ensure_topics
from mlc.group_status import UnknownGroupError
from mlc.replay_group import ReplayBroker
from mlc.replay_times import ReplayUsageError

pytestmark = pytest.mark.integration

HOURS = {0: [0, 1, 2, 3, 4, 5], 1: [0, 2, 4, 6], 2: [1, 3]}
"""Partition -> hours after the base time at which its records were written."""
COMMITTED = {0: 6, 1: 3}
"""The group's committed offsets: partition 0 consumed to its end, 1 short of it, 2 never."""


class Rig:
    def __init__(self, kafka: str) -> None:
        unique = uuid.uuid4().hex[:10]
        self.kafka = kafka
        self.topic = f"it.replay{unique}.sink.slack.v1"
        self.group = f"it-replay{unique}-slack-sink"
        self.now = datetime.now(UTC)
        self.base = (self.now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
        self.admin = AdminClient({"bootstrap.servers": kafka})
        ensure_topics(self.admin, [TopicSpec(self.topic, 3, retention_ms=7 * DAY_MS)],
                      replication_factor=1)  # fmt: skip
        producer = Producer({"bootstrap.servers": kafka})
        for partition, hours in HOURS.items():
            for hour in hours:
                producer.produce(self.topic, value=b"v", partition=partition,
                                 timestamp=int(self.at(hour).timestamp() * 1000))  # fmt: skip
        assert producer.flush(30) == 0
        consumer = Consumer({"bootstrap.servers": kafka, "group.id": self.group})
        try:
            consumer.commit(
                offsets=[TopicPartition(self.topic, p, o) for p, o in COMMITTED.items()],
                asynchronous=False,
            )
        finally:
            consumer.close()
        self.broker = ReplayBroker(self.admin, timeout=20)

    def at(self, hour: float) -> datetime:
        return self.base + timedelta(hours=hour)

    def committed(self) -> dict[int, int]:
        consumer = Consumer({"bootstrap.servers": self.kafka, "group.id": self.group})
        try:
            parts = [TopicPartition(self.topic, p) for p in HOURS]
            return {
                tp.partition: tp.offset
                for tp in consumer.committed(parts, timeout=30)
                if tp.offset >= 0
            }
        finally:
            consumer.close()


@pytest.fixture
def rig(kafka_bootstrap: str) -> Rig:
    return Rig(kafka_bootstrap)


def _windows(
    rig: Rig,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    offsets: dict[int | None, int] | None = None,
) -> dict[int, tuple[int, int, int]]:
    """Partition -> (start, stop, consumed) of each window."""
    found = rig.broker.windows(
        rig.group, [rig.topic], since=since, until=until, offsets=offsets or {}, now=rig.now
    )
    return {w.partition: (w.start, w.stop, w.consumed) for w in found}


def test_a_window_by_time_starts_at_the_first_record_then_and_ends_at_to(rig: Rig) -> None:
    windows = _windows(rig, since=rig.at(3), until=rig.at(5))
    # (start, stop, consumed): the first record at or after 3 h, at or after 5 h.
    assert windows == {0: (3, 5, 6), 1: (2, 3, 3), 2: (1, 2, -1)}


def test_a_window_by_offset_names_every_partition_or_some(rig: Rig) -> None:
    assert _windows(rig, offsets={None: 1}) == {0: (1, 6, 6), 1: (1, 4, 3), 2: (1, 2, -1)}
    assert _windows(rig, offsets={1: 2}) == {1: (2, 4, 3)}


def test_an_offset_or_time_kafka_does_not_hold_is_one_line(rig: Rig) -> None:
    with pytest.raises(ReplayUsageError, match="is not retained in .* partition 1 "
                       r"\(it holds offsets 0 to 4\)"):  # fmt: skip
        _windows(rig, offsets={None: 5})
    with pytest.raises(ReplayUsageError, match="--from-offset: no partition 7 in"):
        _windows(rig, offsets={7: 0})
    with pytest.raises(ReplayUsageError, match=r"is before the retention of .* \(7 days"):
        _windows(rig, since=rig.now - timedelta(days=8))


def test_the_reset_goes_back_to_the_start_never_forward_and_skips_uncommitted(
    rig: Rig,
) -> None:
    windows = rig.broker.windows(
        rig.group, [rig.topic], since=rig.at(4), until=None, offsets={}, now=rig.now
    )
    assert rig.broker.check_group(rig.group, sink="slack-sink", stopped=True) == "EMPTY"
    with pytest.raises(UnknownGroupError, match=f"unknown consumer group {rig.group}-typo"):
        rig.broker.check_group(f"{rig.group}-typo", sink="slack-sink", stopped=True)
    assert rig.broker.reset(rig.group, windows) == 2
    # Partition 0 back to its first record at 4 h; partition 1 had consumed only up to 3
    # (before its record at 4 h): not moved forward; partition 2 never committed: left alone.
    assert rig.committed() == {0: 4, 1: 2}
