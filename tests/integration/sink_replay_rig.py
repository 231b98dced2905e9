"""What the replay tests of the monday-sink, the airbase-sink and the Visma writer share: run
a sink in-process on the real broker until its commands are handled, read and tombstone its
ledger entries, and run `mlc replay`'s own `ReplayRun` with the sink's adapter.

The sinks run with their own composition roots (`build`) and the sandbox in-process
(`httpx.ASGITransport`), so what the tests count is what the sandbox recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from chassis.kafka.producer import EventProducer, confirm
from chassis.kafka.state import StateLoadError, read_newest
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.vault import CredentialVault, KafkaCredentialLog, KeyRing, MasterKey
from mlc.replay_contract import ReplayContext, SinkReplay
from mlc.replay_group import ReplayBroker
from mlc.replay_run import Mode, ReplayRequest, ReplayRun

SERDE = AvroSerde(SchemaCatalog.load())
KAFKA_SH = Path(__file__).resolve().parents[2] / "deploy/kafka/kafka.sh"
WAIT_SECONDS = 60.0


class Vault:
    """A credential vault of the test's own on the broker (its own topic and key)."""

    def __init__(self, kafka: KafkaSettings, unique: str) -> None:
        self._kafka = kafka
        self._topic = f"it.credentials.{unique}.v1"
        self._key = MasterKey.generate()
        KafkaCredentialLog(kafka, topic=self._topic, client="replay-test-vault").ensure_topic()

    def open(self) -> CredentialVault:
        log = KafkaCredentialLog(self._kafka, topic=self._topic, client="replay-test-vault")
        return CredentialVault(log, KeyRing(self._key))

    def put(self, name: str, value: str) -> None:
        self.open().put(name, SecretStr(value))


class CountingTransport(httpx.AsyncBaseTransport):
    """The in-process sandbox, with every request that reached it counted (`METHOD path`)."""

    def __init__(self, app: Any, calls: Counter[str]) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._calls = calls

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._calls[f"{request.method} {request.url.path}"] += 1
        return await self._inner.handle_async_request(request)


def writes(calls: Counter[str], *, reads: tuple[str, ...] = ()) -> Counter[str]:
    """The requests that may change something: all but GET and the paths in `reads` (a
    token request is a POST that changes nothing)."""
    return Counter({
        call: n for call, n in calls.items()
        if not call.startswith("GET ") and call.split(" ", 1)[1] not in reads
    })  # fmt: skip


class RunningSink(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


async def run_until(sink: RunningSink, what: str, done: Callable[[], bool]) -> None:
    """Runs the sink until `done()` (checked every 0.2 s, at most `WAIT_SECONDS`), then stops
    it and waits for it to close."""
    running = asyncio.create_task(sink.run())
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while not done():
            if running.done():
                running.result()  # the sink died: its error
                raise AssertionError(f"{what}: the sink stopped first")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {WAIT_SECONDS} s")
            await asyncio.sleep(0.2)
    finally:
        sink.stop()
        await running


@dataclass(frozen=True)
class Entry:
    partition: int
    fields: dict[str, Any]


def ledger(kafka: KafkaSettings, topic: str) -> dict[str, Entry]:
    """command id -> its newest live ledger entry."""
    try:
        found = read_newest(kafka, topic, client="replay-test", partitions=range(6))
    except StateLoadError:
        return {}
    return {
        key: Entry(record.partition, SERDE.decode(record.value)[1])
        for key, record in found.items()
        if record.value is not None
    }


def done_ids(kafka: KafkaSettings, topic: str, ids: list[str]) -> set[str]:
    entries = ledger(kafka, topic)
    return {i for i in ids if i in entries and entries[i].fields["status"] == "DONE"}


def tombstone(kafka: KafkaSettings, topic: str, entries: dict[str, Entry]) -> None:
    """Deletes the entries as compaction (or the horizon) would: a tombstone per command."""
    producer = EventProducer(kafka, "replay-test-tombstones")
    try:
        confirm([
            producer.send(topic, key=key, value=None, partition=entry.partition)
            for key, entry in entries.items()
        ])  # fmt: skip
    finally:
        producer.close()


def consumed_to_end(kafka: KafkaSettings, group: str, topic: str) -> bool:
    """The group's committed offset is at the end of every partition of `topic` that holds
    records."""
    consumer = Consumer(kafka.client_config("replay-test-offsets") | {"group.id": group})
    try:
        parts = [TopicPartition(topic, p) for p in range(6)]
        committed = {tp.partition: tp.offset for tp in consumer.committed(parts, timeout=10)}
        for p in range(6):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low and committed[p] != high:
                return False
        return True
    finally:
        consumer.close()


def reset_with_kafka_tool(kafka: KafkaSettings, group: str, topic: str, since: datetime) -> None:
    """Kafka's own way: `kafka-consumer-groups --reset-offsets --to-datetime ... --execute`
    (the README's "Replay a sink"), through `deploy/kafka/kafka.sh tool`."""
    result = subprocess.run(
        [str(KAFKA_SH), "tool", "kafka-consumer-groups", "--bootstrap-server",
         kafka.bootstrap_servers, "--group", group, "--topic", topic, "--reset-offsets",
         "--to-datetime", since.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "--execute"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def replay(
    make_adapter: Callable[[ReplayContext], SinkReplay],
    sink_args: argparse.Namespace,
    kafka: KafkaSettings,
    *,
    mode: Mode,
    since: datetime,
    vault: Callable[[], CredentialVault] | None = None,
    keys: tuple[str, ...] = (),
) -> tuple[int, str]:
    """`mlc replay SINK --from SINCE --mode MODE [--key K...] --yes -- SINK_ARGS` with the
    adapter `make_adapter` builds (the sandbox's transport in it); (exit status, output)."""
    out = io.StringIO()
    producer = EventProducer(kafka, "replay-test")
    context = ReplayContext(
        settings=kafka, serde=SERDE, producer=producer, sink_args=sink_args, vault=vault
    )

    async def go() -> int:
        adapter = make_adapter(context)
        run = ReplayRun(
            adapter=adapter,
            broker=ReplayBroker(AdminClient({"bootstrap.servers": kafka.bootstrap_servers})),
            settings=kafka, serde=SERDE, producer=producer, out=out, now=datetime.now(UTC),
        )  # fmt: skip
        try:
            request = ReplayRequest(
                mode=mode, since=since, until=None, offsets={}, keys=keys,
                operator="replay-test", confirm=lambda _count: True,
            )  # fmt: skip
            return await run.run(request)
        finally:
            await adapter.aclose()

    try:
        status = asyncio.run(go())
    finally:
        producer.close()
    return status, out.getvalue()
