"""The consumer runner's test bench: a fresh topic and group on the real broker, what was
written to it, and waits on conditions with a deadline (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from chassis.kafka.dlq import DeadLetters
from chassis.kafka.held_keys import HOLDS_TOPIC
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Batching, Record
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, dead_letter_topic, ensure_topics
from events import PostSlackMessage

WAIT = 30.0
Handler = Callable[[Record], Awaitable[None]]


@dataclass
class Produced:
    key: str
    partition: int
    offset: int
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class Bench:
    """One topic, one group, and what was written to the topic."""

    bootstrap: str
    topic: str
    group: str
    serde: AvroSerde
    produced: list[Produced] = field(default_factory=list)

    @property
    def settings(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.bootstrap)

    @property
    def dlq_topic(self) -> str:
        return dead_letter_topic(self.group).name

    def command(self, key: str, seq: int) -> bytes:
        message = PostSlackMessage(
            command_id=f"{key}-{seq}",
            tenant_id="t1",
            workspace="acme",
            channel=key,
            text=f"message {seq} for {key}",
            rule="it",
            source_event_id=f"event-{seq}",
            entity_type="supplierInvoice",
            entity_id=f"Bill:{seq:06d}",
            created_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        )
        return self.serde.encode(PostSlackMessage.SCHEMA, message.to_record())

    def produce(self, items: list[tuple[str, bytes, int, list[tuple[str, bytes]]]]) -> None:
        """Writes (key, value, partition, headers) in order and remembers where each landed."""
        producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True})
        landed: list[Produced] = []

        def delivered(err: Any, msg: Any) -> None:
            assert err is None, err
            landed.append(
                Produced(
                    msg.key().decode(), msg.partition(), msg.offset(), msg.value(), msg.headers()
                )
            )

        for key, value, partition, headers in items:
            producer.produce(
                self.topic,
                key=key,
                value=value,
                partition=partition,
                headers=headers,
                on_delivery=delivered,
            )
        assert producer.flush(WAIT) == 0
        assert len(landed) == len(items)
        self.produced.extend(sorted(landed, key=lambda p: (p.partition, p.offset)))

    def runner(
        self, handler: Handler, *, batching: Batching | None = None, **config: Any
    ) -> ConsumerRunner:
        defaults: dict[str, Any] = {
            "commit_interval": 0.1,
            "backoff_base": 0.01,
            "shutdown_timeout": 5.0,
        }
        return ConsumerRunner(
            settings=self.settings,
            config=RunnerConfig(group_id=self.group, topics=(self.topic,), **defaults | config),
            handler=handler,
            serde=self.serde,
            dead_letters=DeadLetters(EventProducer(self.settings, f"dlq-{self.group}"), self.group),
            batching=batching,
        )

    async def committed_now(self, partition: int = 0) -> int:
        return await asyncio.to_thread(self.committed, partition)

    async def committed_is(self, offset: int, partition: int = 0) -> bool:
        return await self.committed_now(partition) == offset

    def committed(self, partition: int = 0) -> int:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group})
        try:
            (tp,) = consumer.committed([TopicPartition(self.topic, partition)], timeout=10)
            return int(tp.offset)
        finally:
            consumer.close()

    def dead_letters(self) -> list[Any]:
        """Every record on the group's DLQ (read once the runner has stopped)."""
        consumer = Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": f"{self.group}-reader"}
        )
        try:
            tp = TopicPartition(self.dlq_topic, 0)
            _, high = consumer.get_watermark_offsets(tp, timeout=10)
            consumer.assign([TopicPartition(self.dlq_topic, 0, OFFSET_BEGINNING)])
            messages: list[Any] = []
            deadline = time.monotonic() + WAIT
            while len(messages) < high and time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is not None:
                    assert message.error() is None, message.error()
                    messages.append(message)
            assert len(messages) == high
            return messages
        finally:
            consumer.close()


def make_bench(kafka_bootstrap: str, unique: str) -> Bench:
    """A bench on a fresh topic and group; each test module makes one per test (`bench`)."""
    return Bench(
        bootstrap=kafka_bootstrap,
        topic=f"it.runner.{unique}.v1",
        group=f"it-runner-{unique}",
        serde=AvroSerde(SchemaCatalog.load()),
    )


def create_topics(bench: Bench, partitions: int) -> None:
    ensure_topics(
        AdminClient({"bootstrap.servers": bench.bootstrap}),
        [
            TopicSpec(bench.topic, partitions=partitions),
            dead_letter_topic(bench.group),
            HOLDS_TOPIC,
        ],
    )


@asynccontextmanager
async def running(runner: ConsumerRunner) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(runner.run())
    try:
        yield task
    finally:
        runner.stop()
        await asyncio.wait_for(task, timeout=60)


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]],
    task: asyncio.Task[None],
    what: str,
    within: float = WAIT,
) -> None:
    """Polls `condition` (a plain or async callable) until it holds; fails at the deadline."""
    deadline = time.monotonic() + within
    while True:
        holds = condition()
        if not isinstance(holds, bool):
            holds = await holds
        if holds:
            return
        if task.done():
            task.result()  # the runner crashed: raise its error here
            raise AssertionError(f"runner ended before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.02)


def redelivered(bench: Bench, *, count: int) -> list[int]:
    """The offsets a fresh runner on the same group is handed, once it has `count` of them."""
    again: list[int] = []

    async def handler(record: Record) -> None:
        again.append(record.offset)

    async def second_run() -> None:
        async with running(bench.runner(handler)) as task:
            await eventually(lambda: len(again) >= count, task, "redelivery")

    asyncio.run(second_run())
    return again


def header(message: Any, name: str) -> str:
    values = [v for k, v in message.headers() if k == name]
    assert len(values) == 1, (name, message.headers())
    return str(values[0].decode())
