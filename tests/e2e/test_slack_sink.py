"""The Slack sink on its own: commands produced straight to its topic, the Slack sandbox behind."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from events import PostSlackMessage
from mlc.stack import FlowStack, command_ids
from tests.e2e.conftest import settle, wait_for_posts

pytestmark = pytest.mark.e2e


def command(channel: str, n: int) -> PostSlackMessage:
    return PostSlackMessage(
        command_id=hashlib.sha256(f"{channel}|{n}".encode()).hexdigest(),
        tenant_id="tenant-se-1",
        workspace="default",
        channel=channel,
        text=f"invoice {n} for {channel}",
        rule="test",
        source_event_id=f"event-{channel}-{n}",
        entity_type="supplierInvoice",
        entity_id=f"tenant-se-1/tenant-se-1/supplierInvoice/Invoice:{n:06d}",
        created_at=datetime.now(UTC),
    )


def produce(kafka: str, topic: str, commands: list[PostSlackMessage]) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka)
    ensure_topics(AdminClient(settings.client_config("test")), [TopicSpec(topic, 6)])
    serde = AvroSerde(SchemaCatalog.load())
    producer = EventProducer(settings, "test")
    for command in commands:
        producer.send(
            topic, key=command.key, value=serde.encode(command.SCHEMA, command.to_record())
        )
    producer.flush()


def dead_letters(kafka: str, topic: str, want: int, timeout: float = 60) -> list[dict[str, bytes]]:
    consumer = Consumer(
        {"bootstrap.servers": kafka, "group.id": f"{topic}-reader", "auto.offset.reset": "earliest"}
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    found: list[dict[str, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < want and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                found.append({k: v for k, v in message.headers() or []})
    finally:
        consumer.close()
    return found


def test_unknown_channel_goes_to_the_dlq_with_its_reason_and_the_rest_continue(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str
) -> None:
    stack = make_stack(invoices=0)
    stack.start_sandbox()
    good = [command("ap-approvals", n) for n in range(3)] + [command("ap-large", 9)]
    bad = command("no-such-channel", 5)
    produce(kafka_bootstrap, stack.topics.commands, [good[0], bad, *good[1:]])
    stack.start("slack-sink")

    wait_for_posts(stack, {c.command_id for c in good}, timeout=60)
    dlq = dead_letters(kafka_bootstrap, f"dlq.run-{stack.run_id}-sink.v1", want=1)
    assert len(dlq) == 1
    assert b"channel_not_found" in dlq[0]["dlq-reason"]
    assert dlq[0]["dlq-topic"] == stack.topics.commands.encode()
    assert Counter(command_ids(settle(stack, 2.0))) == Counter(c.command_id for c in good)


def test_twenty_channels_two_hundred_messages_no_429_each_once(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str
) -> None:
    stack = make_stack(invoices=0)
    stack.start_sandbox()
    channels = [f"ap-team-{i:02d}" for i in range(20)]
    for name in channels:
        httpx.post(
            f"{stack.base_url}/slack/_sandbox/channels", json={"name": name}, timeout=10
        ).raise_for_status()
    commands = [command(c, n) for n in range(10) for c in channels]
    produce(kafka_bootstrap, stack.topics.commands, commands)
    stack.start("slack-sink")

    posted = wait_for_posts(stack, {c.command_id for c in commands}, timeout=120)
    posted = settle(stack, 2.5)
    assert Counter(command_ids(posted)) == Counter(c.command_id for c in commands)
    stats = stack.get("/slack/_sandbox/stats")
    assert sum(stats["rate_limited"].values()) == 0
    # Per-channel order is kept: each channel's texts arrive in the order produced.
    for channel in channels:
        texts = [m["text"] for m in posted if m["channel_name"] == channel]
        assert texts == [f"invoice {n} for {channel}" for n in range(10)]
