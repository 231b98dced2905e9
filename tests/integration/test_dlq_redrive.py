"""`mlc dlq` on the real broker: 30 dead letters of two runner groups, and a redrive of one
class of one group that reaches only that group, each record once, and never twice.

Both groups read the same command topic, so a redrive written back to that topic would reach
both: the redrive topic of one group (`redrive.<group>.v1`) must not. Every wait polls a
condition until a deadline, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from audit_index.index_file import AuditIndexFile
from chassis.errors import PermanentError
from chassis.kafka.dlq import DeadLetters, FailureClass, Origin, dead_letter_headers
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Record
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, dead_letter_topic, ensure_topics, redrive_topic
from events import PostSlackMessage
from mlc.cli import main as mlc
from mlc.dlq_reader import DeadLetterId, DlqReader
from mlc.dlq_redrive import RedriveRequest, redrive
from slack_client.errors import SlackCredentialError
from tests.integration.runner_kit import WAIT, Bench, eventually, make_bench, running

pytestmark = pytest.mark.integration

COMMANDS = 15


class Group:
    """One runner group on the shared command topic: it fails each command with the class
    `fails` gives until `healed`, and counts every call, redriven ones apart."""

    def __init__(self, bench: Bench, name: str, fails: dict[int, FailureClass]) -> None:
        self.bench = bench
        self.name = name
        self.fails = fails
        self.healed = False
        self.calls: Counter[str] = Counter()
        self.redriven: list[Record] = []

    async def handle(self, record: Record) -> None:
        command_id = str(record.value["command_id"])
        if record.origin is not None:
            self.redriven.append(record)
            return
        self.calls[command_id] += 1
        seq = int(command_id.rsplit("-", 1)[1])
        if self.healed or seq not in self.fails:
            return
        if self.fails[seq] is FailureClass.AUTH:
            raise SlackCredentialError("invalid_auth", error="invalid_auth")
        raise PermanentError("channel_not_found")

    def runner(self) -> ConsumerRunner:
        settings = self.bench.settings
        return ConsumerRunner(
            settings=settings,
            config=RunnerConfig(
                group_id=self.name, topics=(self.bench.topic,), commit_interval=0.1,
                backoff_base=0.01, shutdown_timeout=5.0,
            ),
            handler=self.handle,
            serde=self.bench.serde,
            dead_letters=DeadLetters(EventProducer(settings, f"dlq-{self.name}"), self.name),
        )  # fmt: skip


def _end(bench: Bench, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bench.bootstrap, "group.id": "it-dlq-ends"})
    try:
        return int(consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1])
    finally:
        consumer.close()


def _committed(bench: Bench, group: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bench.bootstrap, "group.id": group})
    try:
        (tp,) = consumer.committed([TopicPartition(topic, 0)], timeout=10)
        return int(tp.offset)
    finally:
        consumer.close()


@pytest.fixture
def bench(kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch) -> Bench:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)  # for `mlc dlq`
    return make_bench(kafka_bootstrap, unique)


def test_redriving_one_class_of_one_group_reaches_only_that_group_once(
    bench: Bench, unique: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    auth, permanent = FailureClass.AUTH, FailureClass.PERMANENT
    one = Group(
        bench, f"it-dlq-a-{unique}", {i: auth if i % 3 == 0 else permanent for i in range(COMMANDS)}
    )
    other = Group(
        bench, f"it-dlq-b-{unique}", {i: permanent if i < 10 else auth for i in range(COMMANDS)}
    )
    groups = (one, other)
    ensure_topics(
        AdminClient({"bootstrap.servers": bench.bootstrap}),
        [TopicSpec(bench.topic, partitions=2)]
        + [spec for g in groups for spec in (dead_letter_topic(g.name), redrive_topic(g.name))],
    )
    bench.produce([(f"C{i}", bench.command(f"C{i}", i), i % 2, []) for i in range(COMMANDS)])
    by_offset = {(p.partition, p.offset): p for p in bench.produced}
    wanted = {f"C{i}-{i}" for i in range(COMMANDS) if i % 3 == 0}
    settings = KafkaSettings(bootstrap_servers=bench.bootstrap)
    request = RedriveRequest(group=one.name, failure=auth, by="it")

    async def scenario() -> tuple[Any, Any]:
        async with running(one.runner()) as one_task, running(other.runner()) as other_task:
            for g, task in ((one, one_task), (other, other_task)):
                await eventually(
                    lambda g=g: _end(bench, dead_letter_topic(g.name).name) == COMMANDS,  # type: ignore[misc]
                    task, f"{g.name}: {COMMANDS} dead letters",
                )  # fmt: skip
            one.healed = other.healed = True
            first = await asyncio.to_thread(redrive, settings, request, serde=bench.serde)
            await eventually(lambda: len(one.redriven) >= len(wanted), one_task, "redriven calls")
            second = await asyncio.to_thread(redrive, settings, request, serde=bench.serde)
            # Both groups read the command topic on: a new command reaches both, so the other
            # group was running all along, and the redriven group read its redrive topic out.
            bench.produce([("C99", bench.command("C99", 99), 0, [])])
            await eventually(
                lambda: bool(one.calls["C99-99"] and other.calls["C99-99"]), one_task, "C99"
            )
            # Its records and the one commit marker after them: the second redrive wrote none.
            last = max(r.offset for r in one.redriven)
            assert _end(bench, redrive_topic(one.name).name) == last + 2
            await eventually(
                lambda: _committed(bench, one.name, redrive_topic(one.name).name) == last + 1,
                one_task, "the redrive topic committed to its end",
            )  # fmt: skip
        return first, second

    first, second = asyncio.run(scenario())

    assert len(first.redriven) == len(wanted) == 5
    assert (first.already, first.not_redrivable) == ([], [])
    handled = Counter(str(r.value["command_id"]) for r in one.redriven)
    assert handled == Counter({command_id: 1 for command_id in wanted})
    assert other.redriven == []  # the other group's handler: zero redriven calls
    assert sum(other.calls.values()) == COMMANDS + 1
    for record in one.redriven:  # handled as the original record, at its original position
        assert record.source_topic == bench.topic
        assert record.origin is not None
        original = by_offset[(record.origin.partition, record.origin.offset)]
        assert original.key == record.key
    assert second.redriven == []
    assert sorted(str(i) for i, _ in second.already) == sorted(str(i) for i in first.redriven)
    assert all(mark.by == "it" for _, mark in second.already)

    reader = DlqReader(settings)
    try:
        letters = list(reader.window(one.name, since=None))
    finally:
        reader.close()
    assert Counter(letter.about.failure for letter in letters) == {auth: 5, permanent: 10}
    assert {letter.about.attempts for letter in letters} == {1}
    assert {letter.about.group for letter in letters} == {one.name}

    assert mlc(["dlq", "redrive", "--group", one.name, "--class", "auth"]) == 0
    again = capsys.readouterr().out
    assert again.count("already redriven at ") == 5
    assert again.strip().endswith("0 redriven, 5 already redriven, 0 not redrivable")

    assert mlc(["dlq", "list", "--group", one.name, "--class", "auth", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {row["id"] for row in listed} == {str(i) for i in first.redriven}
    assert all(row["redriven"]["by"] == "it" and row["class"] == "auth" for row in listed)

    shown_id = str(first.redriven[0])
    index = tmp_path / "audit-index.sqlite3"  # an empty index: the chain is `mlc audit`'s test
    AuditIndexFile.for_writing(index).close()
    assert mlc(["dlq", "show", shown_id, "--index", str(index)]) == 0
    shown = capsys.readouterr().out
    assert f"id        {shown_id}" in shown
    assert "class     auth" in shown
    assert "SlackCredentialError: invalid_auth" in shown
    assert "io.mlconnector" in shown  # the decoded record's schema
    assert "redriven  " in shown
    assert " by it" in shown


def test_unknown_groups_and_ids_are_one_line_errors(
    bench: Bench, unique: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = f"it-dlq-empty-{unique}"
    ensure_topics(AdminClient({"bootstrap.servers": bench.bootstrap}), [dead_letter_topic(group)])

    cases = [
        (["dlq", "list", "--group", f"nobody-{unique}"], f"unknown group 'nobody-{unique}'"),
        (["dlq", "redrive", "--group", f"nobody-{unique}"], f"unknown group 'nobody-{unique}'"),
        (["dlq", "show", f"{group}:0:7"], f"unknown dead letter {group}:0:7"),
        (["dlq", "show", f"{group}:3:0"], f"unknown dead letter {group}:3:0"),
        (["dlq", "redrive", "--group", group, "--id", f"other-{unique}:0:1"], "is not of group"),
    ]
    for argv, expected in cases:
        assert mlc(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1, (argv, err)
        assert expected in err, (argv, err)
    assert DeadLetterId.parse(f"{group}:0:7").group == group


def test_an_edited_redrive_sends_the_validated_value_and_a_refused_one_sends_nothing(
    bench: Bench, unique: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    group = f"it-dlq-edit-{unique}"
    ensure_topics(
        AdminClient({"bootstrap.servers": bench.bootstrap}),
        [TopicSpec(bench.topic, partitions=1), dead_letter_topic(group), redrive_topic(group)],
    )
    bench.produce([("C1", bench.command("C1", 1), 0, [("correlation-id", b"corr-1")])])
    produced = bench.produced[0]
    record = Record(
        topic=bench.topic, partition=0, offset=produced.offset, key="C1", raw=produced.value,
        headers=[("correlation-id", b"corr-1")], attempts=2,
    )  # fmt: skip
    producer = EventProducer(bench.settings, f"dlq-{group}")
    DeadLetters(producer, group).send(record, failure=FailureClass.PERMANENT, reason="bad channel")
    producer.close()
    letter_id = f"{group}:0:0"
    _, value = bench.serde.decode(produced.value)
    refused = tmp_path / "refused.json"
    refused.write_text(json.dumps({**value, "created_at": "yesterday"}, default=str))
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(json.dumps({**value, "channel": "C-fixed"}, default=str))

    argv = ["dlq", "redrive", "--group", group, "--id", letter_id, "--edit"]
    assert mlc([*argv, str(refused)]) == 2
    assert f"does not validate as {PostSlackMessage.SCHEMA}" in capsys.readouterr().err
    assert _end(bench, redrive_topic(group).name) == 0  # nothing sent, nothing marked

    assert mlc([*argv, str(fixed)]) == 0
    assert f"redriven {letter_id} -> redrive.{group}.v1" in capsys.readouterr().out
    consumer = Consumer({"bootstrap.servers": bench.bootstrap, "group.id": f"{group}-check"})
    try:
        consumer.assign([TopicPartition(redrive_topic(group).name, 0, 0)])
        message = consumer.poll(WAIT)
    finally:
        consumer.close()
    assert message is not None
    assert message.error() is None
    schema, sent = bench.serde.decode(message.value())
    assert (schema, sent["channel"], sent["command_id"]) == (
        PostSlackMessage.SCHEMA, "C-fixed", value["command_id"]
    )  # fmt: skip
    headers = dict(message.headers())
    assert headers["redrive-of"] == letter_id.encode()
    assert headers["correlation-id"] == b"corr-1"
    assert (headers["dlq-topic"], headers["dlq-offset"]) == (bench.topic.encode(), b"0")
    assert mlc([*argv, str(fixed)]) == 0
    assert "0 redriven, 1 already redriven" in capsys.readouterr().out


def test_a_redriven_record_of_a_partition_not_ours_has_its_state_loaded_first(
    bench: Bench, unique: str
) -> None:
    """Another replica owns the original partition (here: partition 5 of a one-partition
    topic, which no replica owns): its state is loaded before the call and let go with the
    redrive partition, so a sink's ledger shows the command's earlier entries."""
    group = bench.group
    ensure_topics(
        AdminClient({"bootstrap.servers": bench.bootstrap}),
        [TopicSpec(bench.topic, partitions=1), dead_letter_topic(group), redrive_topic(group)],
    )
    headers = dead_letter_headers(
        [], group=group, origin=Origin(bench.topic, 5, 17), key="C7", attempts=3,
        failure=FailureClass.AUTH, reason="refused",
    )  # fmt: skip
    producer = EventProducer(bench.settings, f"it-{group}")
    producer.send_confirmed(
        redrive_topic(group).name, key="C7", value=bench.command("C7", 7), headers=headers
    )
    producer.close()
    events: list[tuple[str, Any]] = []

    async def handler(record: Record) -> None:
        events.append(("handled", (record.source_topic, record.source_partition)))

    runner = ConsumerRunner(
        settings=bench.settings,
        config=RunnerConfig(group_id=group, topics=(bench.topic,), commit_interval=0.1),
        handler=handler,
        serde=bench.serde,
        dead_letters=DeadLetters(EventProducer(bench.settings, f"dlq-{group}"), group),
        on_assigned=lambda assigned: events.append(("assigned", sorted(assigned))),
        on_revoked=lambda revoked: events.append(("revoked", sorted(revoked))),
    )

    async def scenario() -> None:
        async with running(runner) as task:
            await eventually(lambda: any(e[0] == "handled" for e in events), task, "the call")

    asyncio.run(scenario())

    source = (bench.topic, 5)
    assert events.index(("assigned", [source])) < events.index(("handled", source))
    assert ("assigned", [(bench.topic, 0)]) in events  # the redrive partition: no state
    revoked = [sorted(e[1]) for e in events if e[0] == "revoked"]
    assert sorted([(bench.topic, 0), source]) in revoked


def test_since_starts_at_the_first_dead_letter_written_at_or_after_the_time(
    bench: Bench, unique: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = f"it-dlq-since-{unique}"
    ensure_topics(AdminClient({"bootstrap.servers": bench.bootstrap}), [dead_letter_topic(group)])
    now = datetime.now(UTC)
    producer = Producer({"bootstrap.servers": bench.bootstrap})
    for i, age in enumerate((timedelta(hours=5), timedelta(hours=3), timedelta(hours=1))):
        headers = dead_letter_headers(
            [], group=group, origin=Origin(bench.topic, 0, i), key=f"k{i}", attempts=1,
            failure=FailureClass.PERMANENT, reason=f"reason {i}",
        )  # fmt: skip
        producer.produce(
            dead_letter_topic(group).name, key=f"k{i}", value=b"x", headers=headers,
            timestamp=int((now - age).timestamp() * 1000),
        )  # fmt: skip
    assert producer.flush(WAIT) == 0

    def listed(*since: str) -> list[str]:
        assert mlc(["dlq", "list", "--group", group, "--json", *since]) == 0
        return [row["key"] for row in json.loads(capsys.readouterr().out)]

    assert listed() == ["k0", "k1", "k2"]
    assert listed("--since", "4h") == ["k1", "k2"]
    assert listed("--since", (now - timedelta(hours=2)).isoformat()) == ["k2"]
    assert listed("--since", "30m") == []


def test_a_poison_dead_letter_is_redriven_only_with_an_edit_and_its_schema(
    bench: Bench, unique: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    group = f"it-dlq-poison-{unique}"
    ensure_topics(
        AdminClient({"bootstrap.servers": bench.bootstrap}),
        [dead_letter_topic(group), redrive_topic(group)],
    )
    record = Record(topic=bench.topic, partition=0, offset=4, key="C1", raw=b"not avro", headers=[])
    producer = EventProducer(bench.settings, f"dlq-{group}")
    DeadLetters(producer, group).send(record, failure=FailureClass.POISON, reason="undecodable")
    producer.close()
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(bench.serde.decode(bench.command("C1", 1))[1], default=str))
    argv = ["dlq", "redrive", "--group", group, "--id", f"{group}:0:0", "--edit", str(fixed)]

    assert mlc(argv) == 2
    assert "cannot be decoded" in capsys.readouterr().err
    assert mlc([*argv, "--schema", "io.mlconnector.sink.Nothing"]) == 2
    assert "no such schema" in capsys.readouterr().err
    assert _end(bench, redrive_topic(group).name) == 0

    assert mlc([*argv, "--schema", PostSlackMessage.SCHEMA]) == 0
    assert "1 redriven" in capsys.readouterr().out
    consumer = Consumer({"bootstrap.servers": bench.bootstrap, "group.id": f"{group}-check"})
    try:
        consumer.assign([TopicPartition(redrive_topic(group).name, 0, 0)])
        message = consumer.poll(WAIT)
    finally:
        consumer.close()
    assert message is not None
    assert bench.serde.decode(message.value())[1]["command_id"] == "C1-1"
