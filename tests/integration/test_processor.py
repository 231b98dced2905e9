"""The processor as a real `python -m processor` subprocess on the real broker.

Each test gets its own app id (consumer group and changelog) and its own topics, passed via
the environment, so runs never see each other's records. No sleeps: every wait polls Kafka
until the expected records arrived or a deadline passed.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from chassis.serde import AvroSerde, SchemaCatalog
from chassis.topics import ensure_topics
from events import ChangeType, PostSlackMessage, SupplierInvoice, SupplierInvoiceChanged
from processor.config import ProcessorSettings
from processor.routing import route
from processor.rules import load_rules

pytestmark = pytest.mark.integration

RULES = Path(__file__).resolve().parents[2] / "services" / "processor" / "rules.example.yaml"
AMOUNTS = [("SEK", "125000"), ("SEK", "9999.99"), ("NOK", "50000"), ("DKK", "8000"),
           ("EUR", "4999.99"), ("USD", "900000"), ("EUR", "5000")]  # fmt: skip
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@dataclass
class Env:
    settings: ProcessorSettings
    serde: AvroSerde
    workdir: Path
    kafka: str
    """The session's broker (read when a test runs, not when the module is imported)."""

    def environ(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "MLC_PROCESSOR_APP_ID": s.app_id,
            "MLC_PROCESSOR_INPUT_TOPIC": s.input_topic or "",
            "MLC_PROCESSOR_OUTPUT_TOPIC": s.output_topic or "",
            "MLC_PROCESSOR_TOPIC_PREFIX": s.topic_prefix,
            # No reference data in these tests: nothing to wait for.
            "MLC_PROCESSOR_ENRICHMENT_WAIT_SECONDS": "0",
            "MLC_PROCESSOR_AUDIT_TOPIC": s.audit_topic,
            "MLC_PROCESSOR_DLQ_TOPIC": s.dlq_spec().name,
        }


@pytest.fixture
def env(tmp_path: Path, kafka_bootstrap: str) -> Env:
    run = uuid.uuid4().hex[:10]
    settings = ProcessorSettings(
        app_id=f"it-processor-{run}",
        topic_prefix=f"it.{run}.",
        input_topic=f"it.{run}.supplier-invoice.v1",
        output_topic=f"it.{run}.sink.slack.v1",
        audit_topic=f"it.{run}.audit.v1",
        dlq_topic=f"it.{run}.dlq.v1",
    )
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), settings.topic_specs())
    return Env(settings, AvroSerde(SchemaCatalog.load()), tmp_path, kafka_bootstrap)


@pytest.fixture
def start(env: Env) -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def _start() -> subprocess.Popen[bytes]:
        log = (env.workdir / f"processor-{len(procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "processor", "--rules", str(RULES), "--loglevel", "info"],
            env=env.environ(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def invoice_event(n: int, *, version: int = 0) -> SupplierInvoiceChanged:
    currency, amount = AMOUNTS[n % len(AMOUNTS)]
    modified = T0 + timedelta(minutes=n, seconds=version)
    entity_id = f"Invoice:{10000 + n}"
    return SupplierInvoiceChanged(
        event_id=f"t1/c1/supplierInvoice/{entity_id}@{int(modified.timestamp() * 1000)}",
        tenant_id="t1",
        company_id="c1",
        entity_id=entity_id,
        change_type=ChangeType.CREATED if version == 0 else ChangeType.UPDATED,
        last_modified=modified,
        observed_at=modified + timedelta(seconds=30),
        invoice=SupplierInvoice(
            document_type="Invoice",
            reference_number=str(10000 + n),
            supplier_name=f"Supplier {n} AB",
            currency=currency,
            amount=Decimal(amount),
            po_reference=f"PO-{n}",
            due_date=date(2026, 4, 1),
        ),
    )


def produce(env: Env, events: list[SupplierInvoiceChanged], *, raw: tuple[bytes, ...] = ()) -> None:
    producer = Producer({"bootstrap.servers": env.kafka, "enable.idempotence": True})
    for event in events:
        producer.produce(
            env.settings.input_topic,
            key=event.key.encode(),
            value=env.serde.encode(event.SCHEMA, event.to_record()),
            headers=[("correlation-id", f"cid-{event.event_id}".encode())],
        )
    for value in raw:
        producer.produce(env.settings.input_topic, key=b"poison", value=value)
    assert producer.flush(30) == 0


def consume_until(env: Env, topic: str, done: object, *, timeout: float = 90.0) -> list[object]:
    """Every message of `topic` read until `done(messages)` holds; fails at the deadline."""
    consumer = Consumer({"bootstrap.servers": env.kafka, "group.id": f"it-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
    consumer.subscribe([topic])
    messages: list[object] = []
    deadline = time.monotonic() + timeout
    try:
        while not done(messages):  # type: ignore[operator]
            assert time.monotonic() < deadline, f"timed out on {topic}: {len(messages)} read"
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                messages.append(msg)
    finally:
        consumer.close()
    return messages


def expected_commands(events: list[SupplierInvoiceChanged]) -> dict[str, PostSlackMessage]:
    rules = load_rules(RULES)
    return {c.command_id: c for e in events for c in route(e, rules)}


def audit_stages(env: Env, messages: list[object]) -> list[str]:
    return [env.serde.decode(m.value())[1]["stage"] for m in messages]  # type: ignore[attr-defined]


def test_routes_each_change_once_and_dead_letters_poison(env: Env, start: object) -> None:
    events = [invoice_event(n) for n in range(21)]
    updated = invoice_event(3, version=1)
    stale = invoice_event(4, version=-1)  # older than what was processed: overlap re-read
    produce(env, [*events, updated], raw=(b"not avro at all",))
    produce(env, [*events[:10], stale])  # the poller's overlap window re-reads these
    expected = expected_commands([*events, updated])
    assert len({c.channel for c in expected.values()}) == 2
    proc = start()  # type: ignore[operator]

    unmatched = sum(1 for e in [*events, updated] if not route(e, load_rules(RULES)))
    total_audit = len(expected) + unmatched + 11 + 1  # routed, no match, duplicates, poison
    audit = consume_until(env, env.settings.audit_topic, lambda m: len(m) >= total_audit)
    stages = audit_stages(env, audit)
    assert stages.count("routed") == len(expected)
    assert stages.count("dead_lettered") == 1
    assert stages.count("skipped") == unmatched + 11

    commands = consume_until(env, env.settings.output_topic, lambda m: len(m) >= len(expected))
    decoded = [PostSlackMessage.from_record(env.serde.decode(m.value())[1]) for m in commands]  # type: ignore[attr-defined]
    assert sorted(c.command_id for c in decoded) == sorted(expected)
    for msg, command in zip(commands, decoded, strict=True):
        assert msg.key() == command.key.encode()  # type: ignore[attr-defined]
        assert dict(msg.headers())["correlation-id"] == f"cid-{command.source_event_id}".encode()  # type: ignore[attr-defined]
        assert command == expected[command.command_id]

    dlq = consume_until(env, env.settings.dlq_spec().name, lambda m: len(m) >= 1)
    headers = dict(dlq[0].headers())  # type: ignore[attr-defined]
    assert dlq[0].value() == b"not avro at all"  # type: ignore[attr-defined]
    assert headers["dlq-topic"] == env.settings.input_topic.encode()
    assert {"dlq-reason", "dlq-partition", "dlq-offset"} <= headers.keys()

    proc.send_signal(signal.SIGTERM)  # a clean stop, as Kubernetes asks for one
    assert proc.wait(timeout=30) == 0


def test_sigkill_and_restart_loses_no_command(env: Env, start: object) -> None:
    events = [invoice_event(n) for n in range(400)]
    produce(env, events)
    expected = expected_commands(events)
    proc = start()  # type: ignore[operator]
    consume_until(env, env.settings.output_topic, lambda m: len(m) >= 5)
    proc.kill()  # SIGKILL: no commit, no flush, no goodbye
    proc.wait(timeout=30)
    start()  # type: ignore[operator]
    ids: set[str] = set()
    read = 0

    def all_seen(messages: list[object]) -> bool:
        nonlocal read
        for m in messages[read:]:
            ids.add(env.serde.decode(m.value())[1]["command_id"])  # type: ignore[attr-defined]
        read = len(messages)
        return set(expected) <= ids

    consume_until(env, env.settings.output_topic, all_seen, timeout=120)
    assert ids == set(expected)


def _committed(env: Env, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": env.kafka, "group.id": env.settings.app_id})
    try:
        [tp] = consumer.committed([TopicPartition(env.settings.input_topic, partition)], 30)
        return int(tp.offset)
    finally:
        consumer.close()


def _size(env: Env, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": env.kafka, "group.id": f"it-{uuid.uuid4().hex}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        marks = [consumer.get_watermark_offsets(TopicPartition(topic, p), 10) for p in partitions]
        return sum(high - low for low, high in marks)
    finally:
        consumer.close()


def _committed_ids(env: Env, topic: str) -> list[str]:
    """The command id of every committed record of `topic`, read to its end."""
    consumer = Consumer({"bootstrap.servers": env.kafka, "group.id": f"it-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "enable.partition.eof": True,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    ids: list[str] = []
    ended: set[int] = set()
    deadline = time.monotonic() + 60
    try:
        while len(ended) < len(partitions):
            assert time.monotonic() < deadline, f"{topic} not read to its end"
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    ended.add(msg.partition())
                continue
            ids.append(env.serde.decode(msg.value())[1]["command_id"])
    finally:
        consumer.close()
    return ids


def _until(what: str, check: Callable[[], bool], *, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.2)


def test_an_unknown_schema_id_is_held_not_dead_lettered(env: Env, start: object) -> None:
    """Issue 9 item 6, no Schema Registry: a record whose schema id this processor does not
    know (a newer producer) is not dead-lettered, and the partition is not committed past it,
    not even by a clean stop; the record after it waits with it."""
    first, after = invoice_event(0), invoice_event(1)
    unknown = invoice_event(2)
    body = env.serde.encode(unknown.SCHEMA, unknown.to_record())
    newer = body[:1] + struct.pack(">I", 987_654) + body[5:]
    producer = Producer({"bootstrap.servers": env.kafka, "enable.idempotence": True})

    def send(key: bytes, value: bytes) -> None:
        producer.produce(env.settings.input_topic, key=key, value=value, partition=0)
        assert producer.flush(30) == 0

    send(first.key.encode(), env.serde.encode(first.SCHEMA, first.to_record()))
    proc = start()  # type: ignore[operator]
    expected_first = len(expected_commands([first]))
    assert expected_first > 0
    consume_until(env, env.settings.output_topic, lambda m: len(m) >= expected_first)
    _until("the first record committed", lambda: _committed(env, 0) == 1)

    send(unknown.key.encode(), newer)  # offset 1
    send(after.key.encode(), env.serde.encode(after.SCHEMA, after.to_record()))  # offset 2
    log_path = env.workdir / "processor-0.log"
    _until(
        "the held record's error logged",
        lambda: "schema is not known yet" in log_path.read_text(errors="replace"),
    )
    proc.send_signal(signal.SIGTERM)  # a clean stop commits everything it acknowledged
    proc.wait(timeout=60)

    assert _committed(env, 0) == 1
    assert _size(env, env.settings.dlq_spec().name) == 0
    assert sorted(_committed_ids(env, env.settings.output_topic)) == sorted(
        expected_commands([first])
    )
