"""AsyncProducer on the real broker: `await send` means the record is in Kafka, or it raises.

Each test writes to a fresh topic. "In Kafka" is checked by reading the topic to the end
offsets it has right after the await: a send that returned early would not be among them.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient

from chassis.errors import PermanentError
from chassis.kafka.async_producer import AsyncProducer, RecordTooLargeError
from chassis.kafka.producer import ProduceError
from chassis.kafka.state import iter_to_end
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(kafka_bootstrap: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=kafka_bootstrap)


@pytest.fixture
def topic(settings: KafkaSettings, unique: str) -> str:
    name = f"test.async-producer.{unique}"
    ensure_topics(AdminClient(settings.client_config("test")), [TopicSpec(name, partitions=3)])
    return name


@pytest.fixture
def producer(settings: KafkaSettings) -> Iterator[AsyncProducer]:
    p = AsyncProducer(settings, f"test-{uuid.uuid4().hex[:6]}")
    yield p
    p.close()


def _read(settings: KafkaSettings, topic: str) -> list[tuple[str | None, bytes]]:
    return list(iter_to_end(settings, topic, client=f"test-{uuid.uuid4().hex[:6]}"))


def test_a_sent_record_is_readable_once_send_returns(
    settings: KafkaSettings, topic: str, producer: AsyncProducer
) -> None:
    async def send() -> None:
        await producer.send(topic, key="tenant/company", value=b"first",
                            headers=[("correlation_id", b"abc")])  # fmt: skip

    asyncio.run(send())
    assert _read(settings, topic) == [("tenant/company", b"first")]


def test_concurrent_sends_each_return_once_their_own_record_is_stored(
    settings: KafkaSettings, topic: str, producer: AsyncProducer
) -> None:
    async def send_all() -> None:
        await asyncio.gather(*(
            producer.send(topic, key=f"k{n % 7}", value=f"v{n}".encode()) for n in range(200)
        ))  # fmt: skip

    asyncio.run(send_all())
    values = sorted(value for _, value in _read(settings, topic))
    assert values == sorted(f"v{n}".encode() for n in range(200))


def test_a_broker_that_cannot_be_reached_makes_send_raise_in_bounded_time() -> None:
    with socket.socket() as s:  # a port nothing listens on once this socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}")
    producer = AsyncProducer(settings, "test-unreachable", delivery_timeout_ms=1500)

    async def send() -> None:
        await asyncio.wait_for(producer.send("test.unreachable", key="k", value=b"v"), 20)

    started = time.monotonic()
    try:
        with pytest.raises(ProduceError):
            asyncio.run(send())
        elapsed = time.monotonic() - started
    finally:
        producer.close(timeout=5)
    assert elapsed < 10, f"send took {elapsed:.1f}s to fail with a 1.5s delivery timeout"


def test_a_record_over_the_largest_message_size_is_permanent_and_the_next_is_stored(
    settings: KafkaSettings, topic: str, producer: AsyncProducer
) -> None:
    """librdkafka refuses it at produce time (a KafkaException that escaped as an unknown
    error); no retry of it can ever be stored, so it is a PermanentError, not a ProduceError."""
    too_large = os.urandom(2 * 1024 * 1024)

    async def send_both() -> None:
        with pytest.raises(RecordTooLargeError) as refused:
            await producer.send(topic, key="k", value=too_large)
        assert isinstance(refused.value, PermanentError)
        await producer.send(topic, key="k", value=b"small")

    asyncio.run(send_both())
    assert [value for _, value in _read(settings, topic)] == [b"small"]
