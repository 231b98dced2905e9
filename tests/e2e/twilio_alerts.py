"""What the twilio-sink e2e tests share: alerts produced straight to the sink's topics, and
reading back what the sandbox sent, the sink's ledger and its metrics."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

import httpx
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer
from chassis.kafka.state import StateLoadError, read_newest
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from events._avro import AvroModel
from events.commands import Command, SendEmail, SendSms
from events.twilio_deliveries import TwilioDelivery
from mlc.stack import FlowStack

SERDE = AvroSerde(SchemaCatalog.load())


def recipients(count: int) -> list[str]:
    """Swedish mobile numbers, none of them one of the sandbox's magic failing numbers."""
    return [f"+4670155{i:04d}" for i in range(count)]


def sms(to: str, n: int, *, run: str) -> SendSms:
    """`run`: the stack's run id, so command ids differ from other runs' in the audit."""
    return SendSms(
        command_id=hashlib.sha256(f"{run}|sms|{to}|{n}".encode()).hexdigest(),
        tenant_id="tenant-se-1",
        rule="large-invoices",
        source_event_id=f"event-{n}",
        entity_type="supplierInvoice",
        entity_id=f"tenant-se-1/tenant-se-1/supplierInvoice/Invoice:{n:06d}",
        created_at=datetime.now(UTC),
        to=to,
        body=f"Supplier invoice {n:06d} over 50,000 SEK for {to}",
    )


def email(n: int, *, run: str) -> SendEmail:
    return SendEmail(
        command_id=hashlib.sha256(f"{run}|email|{n}".encode()).hexdigest(),
        tenant_id="tenant-se-1",
        rule="daily-payments",
        source_event_id=f"digest-{n}",
        entity_type="supplierPayment",
        entity_id=f"tenant-se-1/tenant-se-1/paymentDigest/{n:04d}",
        created_at=datetime.now(UTC),
        to=[f"ap-{n % 7}@example.se"],
        subject=f"Payments of day {n:04d}",
        body=f"Payments digest {n:04d}: 3 payments cleared",
    )


def produce(kafka: str, topic: str, commands: Iterable[Command]) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka)
    ensure_topics(AdminClient(settings.client_config("test")), [TopicSpec(topic, 6)])
    producer = EventProducer(settings, "test")
    for command in commands:
        producer.send(
            topic, key=command.key, value=SERDE.encode(command.SCHEMA, command.to_record())
        )
    producer.flush()
    producer.close()


def sent_sms(stack: FlowStack) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = stack.get("/twilio/_sandbox/messages")
    return found


def sent_emails(stack: FlowStack) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = stack.get("/sendgrid/_sandbox/emails")
    return found


EntryT = TypeVar("EntryT", bound=AvroModel)


@overload
def ledger(kafka: str, topic: str) -> dict[str, TwilioDelivery]: ...
@overload
def ledger(kafka: str, topic: str, entry: type[EntryT]) -> dict[str, EntryT]: ...
def ledger(kafka: str, topic: str, entry: type[AvroModel] = TwilioDelivery) -> dict[str, Any]:
    """Command id -> its newest ledger entry (a `TwilioDelivery` unless `entry` says)."""
    try:
        newest = read_newest(
            KafkaSettings(bootstrap_servers=kafka), topic, client="e2e-check", partitions=range(6)
        )
    except StateLoadError:
        return {}
    return {
        key: entry.from_record(SERDE.decode(record.value)[1])
        for key, record in newest.items()
        if record.value is not None
    }


def wait_until(
    done: Callable[[], bool], *, timeout: float, stack: FlowStack, what: str, every: float = 0.5
) -> float:
    """Polls `done` until it is true; returns the seconds it took."""
    start = time.monotonic()
    while not done():
        assert time.monotonic() - start < timeout, f"{what} not within {timeout}s"
        stack.check_alive()
        time.sleep(every)
    return time.monotonic() - start


def metrics(port: int, *, account: str) -> dict[str, float]:
    """The sink's Prometheus samples for one account (of its caps), by name."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found = {}
    for line in text.splitlines():
        matched = re.match(r'^([a-z_]+)\{account="([^"]+)"\} ([0-9.e+-]+)$', line)
        if matched and matched.group(2) == account:
            found[matched.group(1)] = float(matched.group(3))
    return found
