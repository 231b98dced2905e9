"""`mlc status` on the real broker: a group with known lag, rate and dead letters shows them.

Each test makes its own topics and groups; the committed offsets are set by the test (a
consumer committing explicit offsets), the dead letters written by the chassis' DeadLetters,
so every figure the command prints is known in advance.
"""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from chassis.kafka.dlq import DeadLetters, FailureClass
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Record
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, dead_letter_topic, ensure_topics
from mlc.cli import main
from mlc.group_status import GroupStatusReader, StatusQuery, read_status

pytestmark = pytest.mark.integration


class World:
    """A fresh topic of two partitions (10 and 6 records) and fresh group names."""

    def __init__(self, bootstrap: str) -> None:
        unique = uuid.uuid4().hex[:10]
        self.bootstrap = bootstrap
        self.prefix = f"run.st{unique}."
        self.topic = f"{self.prefix}sink.slack.v1"
        self.other_topic = f"other.st{unique}.v1"
        self.group = f"run-st{unique}-slack-sink"
        self.other_group = f"st{unique}-elsewhere"
        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        ensure_topics(
            self.admin,
            [TopicSpec(self.topic, 2), TopicSpec(self.other_topic, 1),
             dead_letter_topic(self.group)],
            replication_factor=1,
        )  # fmt: skip
        producer = Producer({"bootstrap.servers": bootstrap})
        for partition, count in ((0, 10), (1, 6)):
            for i in range(count):
                producer.produce(self.topic, key=f"k{i}", value=b"v", partition=partition)
        producer.produce(self.other_topic, value=b"v")
        assert producer.flush(30) == 0

    def commit(self, group: str, offsets: list[TopicPartition]) -> None:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group})
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        finally:
            consumer.close()

    def dead_letter(self, count: int) -> None:
        producer = EventProducer(KafkaSettings(bootstrap_servers=self.bootstrap), "st-dlq")
        try:
            letters = DeadLetters(producer, self.group)
            for i in range(count):
                record = Record(self.topic, 0, i, f"k{i}", b"v", [])
                letters.send(record, failure=FailureClass.PERMANENT, reason="permanent: test")
        finally:
            producer.close()


@pytest.fixture
def world(kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    return World(kafka_bootstrap)


def test_lag_rate_and_dead_letters_of_a_group(world: World) -> None:
    world.commit(
        world.group, [TopicPartition(world.topic, 0, 4), TopicPartition(world.topic, 1, 1)]
    )
    world.dead_letter(3)
    now = [100.0]

    def two_seconds_of_work(seconds: float) -> None:  # the group commits 4 more meanwhile
        world.commit(world.group, [TopicPartition(world.topic, 0, 8)])
        now[0] += seconds

    reader = GroupStatusReader(world.admin, timeout=10.0)
    [status] = read_status(
        reader, StatusQuery(groups=(world.group,)),
        interval=2.0, wait=two_seconds_of_work, clock=lambda: now[0],
    )  # fmt: skip

    assert status.service == "slack-sink"
    assert [(p.partition, p.committed, p.end, p.lag) for p in status.partitions] == [
        (0, 8, 10, 2),
        (1, 1, 6, 5),
    ]
    assert status.lag == 7
    assert status.rate == 2.0
    assert status.dead_letters == 3


def test_cli_json_by_prefix_shows_only_the_runs_groups(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.commit(
        world.group, [TopicPartition(world.topic, 0, 10), TopicPartition(world.topic, 1, 2)]
    )
    world.commit(world.other_group, [TopicPartition(world.other_topic, 0, 0)])
    world.dead_letter(2)

    assert main(["status", "--prefix", world.prefix, "--interval", "0", "--json"]) == 0

    [shown] = json.loads(capsys.readouterr().out)
    assert (shown["group"], shown["lag"], shown["dead_letters"]) == (world.group, 4, 2)
    assert shown["rate_per_s"] is None
    assert shown["held_keys"] == 0
    assert shown["held"] == []


def test_cli_table_names_a_group_with_no_dead_letters(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.commit(world.other_group, [TopicPartition(world.other_topic, 0, 0)])

    assert main(["status", "--group", world.other_group, "--interval", "0"]) == 0

    header, line = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["SERVICE", "GROUP", "STATE"]
    assert line.split()[1:] == [world.other_group, "EMPTY", "1", "-", "0", "0"]


def test_unknown_group_is_one_line(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    missing = f"{world.group}-never-seen"

    assert main(["status", "--group", missing]) == 2

    assert capsys.readouterr().err == f"mlc status: unknown consumer group {missing}\n"


def test_unreachable_broker_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")

    assert main(["status", "--timeout", "1"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("mlc status: broker 127.0.0.1:1 did not answer (")
    assert err.count("\n") == 1
