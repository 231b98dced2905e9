"""Kafka's own command-line tools through `deploy/kafka/kafka.sh tool`, on the shared broker.

The documented replay path is `kafka-consumer-groups --reset-offsets --to-datetime` on a
stopped sink's group: these tests run the real tool (the JVM, the jars the pom pins) on a fresh
topic whose records carry known timestamps and on a group whose committed offsets the test
set, so the offsets the reset must reach are known in advance.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from chassis.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "deploy/kafka/kafka.sh"

# Hours after the base time at which each partition's records were written.
HOURS = {0: [0, 1, 2, 3, 4, 5], 1: [0, 2, 4, 6]}
RESET_HOUR = 3
# The first offset of each partition at or after RESET_HOUR (the record at 3 h counts).
EXPECTED_AFTER_RESET = {0: 3, 1: 2}


def tool(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(KAFKA_SH), "tool", *args],
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


class Group:
    """A fresh two-partition topic of timestamped records and a group committed at its end."""

    def __init__(self, bootstrap: str) -> None:
        unique = uuid.uuid4().hex[:10]
        self.bootstrap = bootstrap
        self.topic = f"run.kt{unique}.sink.slack.v1"
        self.group = f"run-kt{unique}-slack-sink"
        # A past day, whole seconds: the broker refuses timestamps far in the future.
        self.base = (datetime.now(UTC) - timedelta(days=10)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        ensure_topics(
            AdminClient({"bootstrap.servers": bootstrap}),
            [TopicSpec(self.topic, 2)], replication_factor=1,
        )  # fmt: skip
        producer = Producer({"bootstrap.servers": bootstrap})
        for partition, hours in HOURS.items():
            for i, hour in enumerate(hours):
                at = self.base + timedelta(hours=hour)
                producer.produce(self.topic, key=f"k{i}", value=b"v", partition=partition,
                                 timestamp=int(at.timestamp() * 1000))  # fmt: skip
        assert producer.flush(30) == 0
        self.end = {partition: len(hours) for partition, hours in HOURS.items()}
        self.commit(self.end)

    def commit(self, offsets: dict[int, int]) -> None:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group})
        try:
            consumer.commit(
                offsets=[TopicPartition(self.topic, p, o) for p, o in offsets.items()],
                asynchronous=False,
            )
        finally:
            consumer.close()

    def committed(self) -> dict[int, int]:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group})
        try:
            parts = [TopicPartition(self.topic, p) for p in HOURS]
            return {tp.partition: tp.offset for tp in consumer.committed(parts, timeout=30)}
        finally:
            consumer.close()

    def at_hour(self, hour: int) -> datetime:
        return self.base + timedelta(hours=hour)


@pytest.fixture
def group(kafka_bootstrap: str) -> Group:
    return Group(kafka_bootstrap)


def offsets_in_table(output: str, topic: str, column: str) -> dict[int, int]:
    """Partition -> the named column of the tool's table rows for the topic."""
    lines = [line.split() for line in output.splitlines() if line.strip()]
    header = next(line for line in lines if "PARTITION" in line and column in line)
    found = {}
    for line in lines:
        if len(line) == len(header) and line[header.index("TOPIC")] == topic:
            found[int(line[header.index("PARTITION")])] = int(line[header.index(column)])
    return found


def test_every_listed_tool_has_its_main_class_in_the_jars() -> None:
    subprocess.run([str(KAFKA_SH), "install"], check=True, timeout=600)
    script = KAFKA_SH.read_text()
    table = script.split("<<'TOOLS'\n", 1)[1].split("\nTOOLS\n", 1)[0]
    classes = {line.split()[0]: line.split()[1] for line in table.splitlines()}
    assert {"kafka-consumer-groups", "kafka-topics", "kafka-console-consumer"} <= set(classes)
    in_jars: set[str] = set()
    for jar in (KAFKA_SH.parent / "lib").glob("*.jar"):
        with zipfile.ZipFile(jar) as archive:
            in_jars.update(archive.namelist())
    missing = {n: c for n, c in classes.items() if c.replace(".", "/") + ".class" not in in_jars}
    assert missing == {}


def test_the_wrapper_lists_and_describes_a_group(group: Group) -> None:
    listed = tool(group.bootstrap, "kafka-consumer-groups", "--list")
    assert group.group in listed.stdout.split()

    described = tool(group.bootstrap, "kafka-consumer-groups", "--describe", "--group", group.group)
    assert offsets_in_table(described.stdout, group.topic, "CURRENT-OFFSET") == group.end
    assert offsets_in_table(described.stdout, group.topic, "LAG") == {0: 0, 1: 0}


def test_reset_offsets_to_datetime_moves_the_committed_offsets(group: Group) -> None:
    reset_at = group.at_hour(RESET_HOUR)
    # The form the README shows: no zone, the machine's local time (as the JVM reads it too).
    local = reset_at.astimezone().strftime("%Y-%m-%dT%H:%M:%S.000")
    plan = tool(group.bootstrap, "kafka-consumer-groups", "--group", group.group,
                "--topic", group.topic, "--reset-offsets", "--to-datetime", local,
                "--dry-run")  # fmt: skip
    assert offsets_in_table(plan.stdout, group.topic, "NEW-OFFSET") == EXPECTED_AFTER_RESET
    assert group.committed() == group.end

    utc = reset_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    done = tool(group.bootstrap, "kafka-consumer-groups", "--group", group.group,
                "--topic", group.topic, "--reset-offsets", "--to-datetime", utc,
                "--execute")  # fmt: skip
    assert offsets_in_table(done.stdout, group.topic, "NEW-OFFSET") == EXPECTED_AFTER_RESET
    assert group.committed() == EXPECTED_AFTER_RESET
    assert re.search(r"\bERROR\b", done.stderr) is None
