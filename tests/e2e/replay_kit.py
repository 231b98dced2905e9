"""What the replay e2e tests share: `mlc replay` run as an operator runs it (a process, the
sink's own options after `--`), the sink group's progress, ledger tombstones, audit reads."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from chassis.audit import AUDIT_TOPIC
from chassis.kafka.producer import EventProducer
from chassis.kafka.state import read_range
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from mlc.processes import python_module
from mlc.stack import FlowStack

SERDE = AvroSerde(SchemaCatalog.load())


@dataclass(frozen=True)
class Replayed:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def replay(
    stack: FlowStack, sink: str, *args: str, stdin: str | None = None, timeout: float = 120
) -> Replayed:
    """`mlc replay SINK ARGS -- <the sink's own options, as the stack runs it>`."""
    sink_argv = stack._child(sink).argv
    options = sink_argv[sink_argv.index(sink.replace("-", "_")) + 1 :]
    env = os.environ | stack.credentials().env_for(sink)
    done = subprocess.run(
        [*python_module("mlc.cli", "replay", sink, *args, "--", *options)],
        capture_output=True, text=True, env=env, timeout=timeout, input=stdin, check=False,
    )  # fmt: skip
    return Replayed(done.returncode, done.stdout, done.stderr)


KAFKA_SH = Path(__file__).resolve().parents[2] / "deploy/kafka/kafka.sh"


def kafka_tool_reset(kafka: str, group: str, topics: list[str], *, to: datetime) -> str:
    """Kafka's own `kafka-consumer-groups --reset-offsets --to-datetime` on a stopped group,
    through the project's wrapper (the documented replay path); returns what it printed."""
    topic_args = [arg for topic in topics for arg in ("--topic", topic)]
    done = subprocess.run(
        [str(KAFKA_SH), "tool", "kafka-consumer-groups", "--bootstrap-server", kafka,
         "--group", group, *topic_args, "--reset-offsets",
         "--to-datetime", to.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"), "--execute"],
        env=os.environ | {"KAFKA_BOOTSTRAP_SERVERS": kafka},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def end_offsets(kafka: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": f"{topic}-ends"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
    finally:
        consumer.close()


_ADMINS: dict[str, AdminClient] = {}


def _admin(kafka: str) -> AdminClient:
    if kafka not in _ADMINS:
        _ADMINS[kafka] = AdminClient({"bootstrap.servers": kafka})
    return _ADMINS[kafka]


def committed(kafka: str, group: str, topic: str) -> dict[int, int]:
    admin = _admin(kafka)
    future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
    return {tp.partition: tp.offset for tp in future.result().topic_partitions if tp.topic == topic}


def wait_caught_up(
    stack: FlowStack, kafka: str, group: str, topics: list[str], *, timeout: float
) -> None:
    """Until the group has committed every record of `topics` (the sink handled them all)."""
    deadline = time.monotonic() + timeout
    while True:
        behind = {}
        for topic in topics:
            done = committed(kafka, group, topic)
            behind[topic] = {p: e for p, e in end_offsets(kafka, topic).items()
                             if done.get(p, 0) < e}  # fmt: skip
        if not any(behind.values()):
            return
        assert time.monotonic() < deadline, f"{group} still behind on {behind}"
        stack.check_alive()
        time.sleep(0.5)


def wait_group_empty(kafka: str, group: str, *, timeout: float = 60) -> None:
    """Until the stopped sink has left its group (a replay refuses a group with members)."""
    admin = _admin(kafka)
    deadline = time.monotonic() + timeout
    while admin.describe_consumer_groups([group])[group].result().members:
        assert time.monotonic() < deadline, f"{group} still has members"
        time.sleep(0.3)


def tombstone(kafka: str, ledger_topic: str, entries: list[tuple[str, int]]) -> None:
    """Deletes ledger entries (command id, partition) as compaction would remove them."""
    producer = EventProducer(KafkaSettings(bootstrap_servers=kafka), "test-tombstones")
    for command_id, partition in entries:
        producer.send(ledger_topic, key=command_id, value=None, partition=partition)
    producer.flush()
    producer.close()


def audit_since(kafka: str, starts: dict[int, int]) -> list[dict[str, Any]]:
    """The audit records written after `starts` (the audit topic's ends taken earlier)."""
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": "replay-audit-reader",
                         "enable.auto.commit": False})  # fmt: skip
    ends = end_offsets(kafka, AUDIT_TOPIC.name)
    consumer.assign([TopicPartition(AUDIT_TOPIC.name, p, o) for p, o in starts.items()])
    found: list[dict[str, Any]] = []
    remaining = {p for p in starts if ends[p] > starts[p]}
    deadline = time.monotonic() + 60
    try:
        while remaining and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            found.append(SERDE.decode(message.value())[1])
            if (message.offset() or 0) + 1 >= ends[message.partition() or 0]:
                remaining.discard(message.partition() or 0)
    finally:
        consumer.close()
    return found


def stop(stack: FlowStack, name: str, kafka: str, group: str) -> None:
    stack.children[name].stop()
    wait_group_empty(kafka, group)


def partitions_of(kafka: str, topics: list[str]) -> dict[str, int]:
    """Command id -> partition of its command record (its ledger entry's partition)."""
    found = {}
    for topic in topics:
        ends = end_offsets(kafka, topic)
        for message in read_range(
            KafkaSettings(bootstrap_servers=kafka), topic, client="e2e-partitions",
            starts=dict.fromkeys(ends, 0), stops=ends,
        ):  # fmt: skip
            found[SERDE.decode(message.value())[1]["command_id"]] = message.partition() or 0
    return found
