"""Every Kafka client of the connector through SASL/SCRAM and through TLS, on a private broker
of the project's own with those listeners (tests/integration/secure_broker.py), started once
for the module: the chassis producer and runner (librdkafka) and aiokafka as faust uses it,
all configured by KafkaSettings alone. A wrong password or an untrusted broker certificate
fails with an error that says so, not with a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError as AioKafkaError
from confluent_kafka.admin import AdminClient
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from chassis.kafka.client_errors import KafkaAuthenticationFailed
from chassis.kafka.dlq import DeadLetters
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Record
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, dead_letter_topic, ensure_topics
from processor.broker_auth import broker_credentials
from tests.integration.secure_broker import SecureBroker, make_tls, start_secure_broker

# One worker runs the whole module under xdist: its secured broker is module-wide.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("secure-broker")]

USER = "mlc-client"
PASSWORD = "s3cret-for-scram"
WAIT = 60.0
COUNT = 20
SERDE = AvroSerde(SchemaCatalog.load())


def cursor(n: int) -> bytes:
    """A small Avro record the runner can decode, told apart by `company_id`."""
    now = datetime.now(UTC)
    return SERDE.encode(
        "io.mlconnector.state.PollCursor",
        {"source": "it", "tenant_id": "t", "company_id": f"c{n}", "entity_type": "e",
         "since": now, "seen": [], "resume": None, "updated_at": now},
    )  # fmt: skip


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    secured = start_secure_broker(tmp_path_factory.mktemp("secure-broker"))
    try:
        secured.add_scram_user(USER, PASSWORD)
        yield secured
    finally:
        secured.stop()


@pytest.fixture(scope="module")
def password_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "kafka-password"
    path.write_text(PASSWORD + "\n")
    return path


def scram(broker: SecureBroker, password_file: Path, mechanism: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=broker.sasl,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        sasl_username=USER,
        sasl_password_file=password_file,
    )


def tls(broker: SecureBroker) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=broker.ssl, security_protocol="SSL", ssl_ca_file=broker.tls.ca_file
    )


@pytest.fixture(params=["scram-sha-256", "scram-sha-512", "tls"])
def secured(
    request: pytest.FixtureRequest, broker: SecureBroker, password_file: Path
) -> KafkaSettings:
    if request.param == "tls":
        return tls(broker)
    return scram(broker, password_file, request.param.upper())


def test_chassis_producer_and_runner(secured: KafkaSettings) -> None:
    topic, group = f"it.secure.{uuid.uuid4().hex[:8]}", f"it-secure-{uuid.uuid4().hex[:8]}"
    ensure_topics(
        AdminClient(secured.client_config("it-admin")),
        [TopicSpec(topic, 2), dead_letter_topic(group)],
    )
    producer = EventProducer(secured, "it-producer")
    try:
        for n in range(COUNT):
            producer.send(topic, key=f"k{n % 4}", value=cursor(n))
        producer.flush(WAIT)
    finally:
        producer.close()

    seen: list[str] = []
    # Closed at the end: a producer left open keeps reconnecting to this module's broker after
    # it stops, and its librdkafka lines land in whatever test runs next.
    dlq_producer = EventProducer(secured, f"dlq-{group}")

    async def consume() -> None:
        done = asyncio.Event()

        async def handle(record: Record) -> None:
            seen.append(record.value["company_id"])
            if len(seen) == COUNT:
                done.set()

        runner = ConsumerRunner(
            settings=secured,
            config=RunnerConfig(
                group_id=group, topics=(topic,), commit_interval=0.1, shutdown_timeout=5.0
            ),
            handler=handle,
            serde=SERDE,
            dead_letters=DeadLetters(dlq_producer, group),
        )
        task = asyncio.create_task(runner.run())
        try:
            await asyncio.wait_for(done.wait(), WAIT)
        finally:
            runner.stop()
            await task

    try:
        asyncio.run(consume())
    finally:
        dlq_producer.close()
    assert sorted(seen) == sorted(f"c{n}" for n in range(COUNT))


def test_aiokafka_as_faust_connects(secured: KafkaSettings) -> None:
    topic = f"it.secure.aio.{uuid.uuid4().hex[:8]}"
    ensure_topics(AdminClient(secured.client_config("it-admin")), [TopicSpec(topic, 1)])
    # The processor's faust app hands aiokafka exactly these (faust's own translation).
    auth = credentials_to_aiokafka_auth(broker_credentials(secured))

    async def round_trip() -> list[bytes]:
        producer = AIOKafkaProducer(bootstrap_servers=secured.bootstrap_servers, **auth)
        await producer.start()
        try:
            for n in range(COUNT):
                await producer.send_and_wait(topic, f"a{n}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, auto_offset_reset="earliest", **secured.aiokafka_config("it-aio")
        )
        await consumer.start()
        try:
            got: list[bytes] = []
            async with asyncio.timeout(WAIT):
                while len(got) < COUNT:
                    batch = await consumer.getmany(timeout_ms=500)
                    got += [m.value for records in batch.values() for m in records if m.value]
            return got
        finally:
            await consumer.stop()

    assert asyncio.run(round_trip()) == [f"a{n}".encode() for n in range(COUNT)]


@pytest.fixture
def wrong_password(broker: SecureBroker, tmp_path: Path) -> KafkaSettings:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password")
    return scram(broker, wrong, "SCRAM-SHA-256")


def test_a_wrong_password_fails_the_chassis_with_a_clear_error(
    wrong_password: KafkaSettings,
) -> None:
    admin = AdminClient(wrong_password.client_config("it-wrong"))
    with pytest.raises(KafkaAuthenticationFailed, match="invalid credentials"):
        ensure_topics(admin, [TopicSpec(f"it.never.{uuid.uuid4().hex[:8]}", 1)], timeout=5)


def test_a_wrong_password_fails_aiokafka_and_its_log_says_why(
    wrong_password: KafkaSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """aiokafka (so faust) raises "unable to bootstrap"; the reason is in its error log."""

    async def start() -> None:
        producer = AIOKafkaProducer(**wrong_password.aiokafka_config("it-wrong"))
        try:
            await producer.start()
        finally:
            await producer.stop()

    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(AioKafkaError):
        asyncio.run(start())
    reasons = [r.getMessage() for r in caplog.records if r.name.startswith("aiokafka")]
    assert any("SaslAuthenticationFailed" in m and "invalid credentials" in m for m in reasons)


def test_a_broker_certificate_from_another_ca_fails_with_a_clear_error(
    broker: SecureBroker, tmp_path: Path
) -> None:
    stranger = make_tls(tmp_path)  # a CA that did not sign the broker's certificate
    settings = KafkaSettings(
        bootstrap_servers=broker.ssl, security_protocol="SSL", ssl_ca_file=stranger.ca_file
    )
    admin = AdminClient(settings.client_config("it-untrusted"))
    with pytest.raises(KafkaAuthenticationFailed, match=r"(?i)certificate"):
        ensure_topics(admin, [TopicSpec(f"it.never.{uuid.uuid4().hex[:8]}", 1)], timeout=5)
