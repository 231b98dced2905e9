"""Bounded ledgers on the real broker: a load reads only the assigned partitions and writes
tombstones for expired entries; through the runner, a command within the horizon is found
DONE (no second side effect, also on a replay by a new group) and one beyond it is refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from chassis.kafka.dlq import DeadLetters, FailureClass
from chassis.kafka.expiry import Expiry
from chassis.kafka.ledger import CommandLedger
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Record
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.kafka.state import read_newest
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, dead_letter_topic, ensure_topics
from events import PostSlackMessage
from events.deliveries import DeliveryStatus, SinkDelivery

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
EXPIRY = Expiry(timedelta(days=40))
WAIT = 60.0
NOW = datetime.now(UTC)


def delivery(command_id: str, at: datetime) -> SinkDelivery:
    return SinkDelivery(
        command_id=command_id, sink="it", status=DeliveryStatus.DONE, destination="acme/ap",
        at=at, channel_id="C1", ts="1.000100",
    )  # fmt: skip


def ledger(settings: KafkaSettings, topic: str, client: str) -> CommandLedger[SinkDelivery]:
    return CommandLedger(
        SinkDelivery, topic=topic, producer=EventProducer(settings, client), serde=SERDE,
        client=client, expiry=EXPIRY,
    )  # fmt: skip


def write_entries(bootstrap: str, topic: str, entries: list[tuple[int, SinkDelivery]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for partition, entry in entries:
        value = SERDE.encode(entry.SCHEMA, entry.to_record())
        producer.produce(topic, key=entry.command_id, value=value, partition=partition)
    assert producer.flush(WAIT) == 0


def test_a_load_reads_only_the_assigned_partitions_and_tombstones_what_expired(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"it.ledger-bounds.{unique}"
    ensure_topics(AdminClient(settings.client_config("t")), [TopicSpec(topic, 3, compacted=True)])
    write_entries(kafka_bootstrap, topic, [
        (0, delivery("p0-young", NOW - timedelta(days=1))),
        (0, delivery("p0-old", NOW - timedelta(days=50))),
        (1, delivery("p1-young", NOW - timedelta(days=1))),
        (1, delivery("p1-edge", NOW - timedelta(days=39))),
        (1, delivery("p1-old", NOW - timedelta(days=41))),
        (2, delivery("p2-young", NOW)),
    ])  # fmt: skip
    book = ledger(settings, topic, f"t-{unique}")

    assert book.load(settings, [1]) == 2
    assert sorted(e.command_id for e in book.entries()) == ["p1-edge", "p1-young"]
    assert book.get("p0-young") is None  # partition 0 is not ours
    newest = read_newest(settings, topic, client=f"t-{unique}-check", partitions=[0, 1, 2])
    assert newest["p1-old"].value is None
    assert newest["p1-old"].partition == 1
    assert newest["p0-old"].value is not None  # only the owner of partition 0 expires it
    assert all(newest[k].value is not None for k in ("p1-young", "p1-edge", "p2-young"))

    book.forget([1])
    assert book.load(settings, [0, 2]) == 2
    assert book.get("p1-young") is None
    newest = read_newest(settings, topic, client=f"t-{unique}-check2", partitions=[0])
    assert newest["p0-old"].value is None
    assert book.load(settings, [1]) == 2  # the tombstone is read as "gone", not as an entry


class Sink:
    """A sink's handler over the ledger: the side effect once per command, DONE after it."""

    def __init__(self, book: CommandLedger[SinkDelivery]) -> None:
        self.book = book
        self.effects: list[str] = []
        self.handled: set[str] = set()

    async def __call__(self, record: Record) -> None:
        command_id = record.value["command_id"]
        self.handled.add(command_id)
        entry = self.book.get(command_id)
        if entry is not None and entry.status is DeliveryStatus.DONE:
            return
        self.effects.append(command_id)
        await self.book.write(delivery(command_id, datetime.now(UTC)))


class Letters(DeadLetters):
    def __init__(self, producer: EventProducer, group: str) -> None:
        super().__init__(producer, group)
        self.reasons: dict[str, str] = {}

    def send(self, record: Record, *, failure: FailureClass, reason: str) -> None:
        super().send(record, failure=failure, reason=reason)
        self.reasons[record.key or ""] = reason


def command(command_id: str) -> bytes:
    message = PostSlackMessage(
        command_id=command_id, tenant_id="t1", workspace="acme", channel="ap", text="x",
        rule="it", source_event_id=command_id, entity_type="supplierInvoice",
        entity_id=command_id, created_at=NOW,
    )  # fmt: skip
    return SERDE.encode(PostSlackMessage.SCHEMA, message.to_record())


async def until(condition: Callable[[], bool], task: asyncio.Task[None], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if task.done():
            task.result()
        assert time.monotonic() < deadline, f"not within {WAIT}s: {what}"
        await asyncio.sleep(0.05)


def test_within_the_horizon_a_command_is_found_done_and_beyond_it_is_refused(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    commands, ledger_topic = f"it.lb-cmd.{unique}.v1", f"it.lb-ledger.{unique}"
    groups = [f"it-lb-{unique}-a", f"it-lb-{unique}-b"]  # b: a replay from the start
    ensure_topics(AdminClient(settings.client_config("t")), [
        TopicSpec(commands, 2), TopicSpec(ledger_topic, 2, compacted=True),
        *(dead_letter_topic(g) for g in groups),
    ])  # fmt: skip
    write_entries(kafka_bootstrap, ledger_topic, [
        (0, delivery("within", NOW - timedelta(days=39))),
        (1, delivery("beyond", NOW - timedelta(days=45))),
    ])  # fmt: skip
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for command_id, partition, age in (
        ("within", 0, timedelta(days=39)), ("beyond", 1, timedelta(days=45)),
        ("fresh", 1, timedelta(0)),
    ):  # fmt: skip
        stamp = int((NOW - age).timestamp() * 1000)
        producer.produce(
            commands, key=command_id, value=command(command_id), partition=partition,
            timestamp=stamp,
        )  # fmt: skip
    assert producer.flush(WAIT) == 0

    async def run(group: str) -> tuple[Sink, Letters]:
        book = ledger(settings, ledger_topic, f"{group}-ledger")
        sink = Sink(book)
        letters = Letters(EventProducer(settings, f"{group}-dlq"), group)
        runner = ConsumerRunner(
            settings=settings,
            config=RunnerConfig(group_id=group, topics=(commands,), commit_interval=0.1),
            handler=sink, serde=SERDE, dead_letters=letters,
            on_assigned=lambda assigned: book.load(settings, [p for _, p in assigned]),
            on_revoked=lambda revoked: book.forget([p for _, p in revoked]),
        )  # fmt: skip
        task = asyncio.create_task(runner.run())
        try:
            await until(lambda: sink.handled == {"within", "beyond", "fresh"}, task, "handled")
            await until(lambda: "beyond" in letters.reasons, task, "beyond dead-lettered")
        finally:
            runner.stop()
            await asyncio.wait_for(task, timeout=WAIT)
        return sink, letters

    first, letters = asyncio.run(run(groups[0]))
    assert first.effects == ["fresh"]
    assert "CommandBeyondHorizonError" in letters.reasons["beyond"]
    newest = read_newest(settings, ledger_topic, client=f"t-{unique}-r", partitions=[0, 1])
    assert newest["fresh"].partition == 1  # beside its command's partition
    assert newest["beyond"].value is None  # expired: tombstoned at the load

    replay, letters = asyncio.run(run(groups[1]))
    assert replay.effects == []  # nothing acted on twice
    assert "CommandBeyondHorizonError" in letters.reasons["beyond"]
