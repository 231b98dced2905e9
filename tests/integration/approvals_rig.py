"""The approvals service on the real broker for integration tests: its topics, the records
it reads (ledger entries, employees, gestures), and the service running in the test's loop
with a fake Slack directory (the employee and ledger views are the real ones)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from approvals.config import ApprovalsConfig, ApprovalsFile, ApprovalsSettings
from approvals.inject import ApprovalsOptions, ApprovalsTopics, build
from chassis.audit import AUDIT_TOPIC as AUDIT_SPEC
from chassis.kafka.producer import EventProducer
from chassis.kafka.state import watermarks
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import ensure_topics
from events._avro import AvroModel
from events.deliveries import DeliveryStatus, SinkDelivery
from events.slack_events import SlackEventReceived
from events.visma_reference import Employee, EmployeeChanged

SERDE = AvroSerde(SchemaCatalog.load())
AUDIT_TOPIC = AUDIT_SPEC.name
TENANT = "tenant-se-1"
CHANNEL = "C0STARTUP"
EMPLOYEE = "E0999"
EMAIL = "late.approver@example.se"
SLACK_USER = "U0LATE"
CONFIG = ApprovalsConfig(
    ApprovalsFile.model_validate({"tenants": [{"tenant_id": TENANT, "approvers": [EMPLOYEE]}]})
)


class SlackUsers:
    async def user_id(self, *, workspace: str, email: str) -> str | None:
        return SLACK_USER if email == EMAIL else None


def message_ts(n: int, *, posted: float = 1767225600) -> str:
    """The Slack ts of message number `n`, posted at `posted` (seconds since the epoch)."""
    return f"{int(posted)}.{n:06d}"


def ledger_entry(n: int, *, ts: str | None = None) -> SinkDelivery:
    """The Slack sink's DONE entry of message number `n`."""
    ts = ts or message_ts(n)
    return SinkDelivery(
        command_id=f"cmd-{n}", sink="slack-sink", status=DeliveryStatus.DONE,
        destination="default/ap-approvals", external_id=ts,
        at=datetime(2026, 1, 1, tzinfo=UTC), channel_id=CHANNEL, ts=ts,
        tenant_id=TENANT, company_id=TENANT, entity_type="supplierInvoice",
        entity_id=f"{TENANT}/{TENANT}/supplierInvoice/Invoice:{n:06d}", rule="all-invoices",
    )  # fmt: skip


def employee(number: str = EMPLOYEE, email: str = EMAIL) -> EmployeeChanged:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return EmployeeChanged(
        event_id=f"ev-{number}", tenant_id=TENANT, company_id=TENANT, entity_id=number,
        change_type="UPDATED", last_modified=now, observed_at=now,
        employee=Employee(employee_number=number, email=email),
    )  # fmt: skip


def approval(n: int, *, ts: str | None = None) -> SlackEventReceived:
    """The approver's ✅ on message number `n` (or on the message at `ts`), received now."""
    return SlackEventReceived(
        event_id=f"Ev-approval-{n}", team_id="T0MLC", event_type="reaction_added",
        user=SLACK_USER, channel=CHANNEL, message_ts=ts or message_ts(n),
        event_ts="1767225700.000001", reaction="white_check_mark",
        event_time=datetime.now(UTC), received_at=datetime.now(UTC),
    )  # fmt: skip


class Rig:
    def __init__(self, kafka_bootstrap: str, unique: str, **settings: Any) -> None:
        self.kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
        self.unique = unique
        self.settings = ApprovalsSettings(
            group_id=f"approvals-{unique}", topic_prefix=f"approvals-{unique}.",
            match_wait_seconds=0, employee_wait_seconds=0, **settings,
        )  # fmt: skip
        self.topics = ApprovalsTopics.of(self.settings)
        t = self.topics
        ensure_topics(AdminClient(self.kafka.client_config("approvals-rig")),
                      [t.events, t.ledger, t.employees, t.signals, t.actions],
                      replication_factor=1)  # fmt: skip
        self.producer = EventProducer(self.kafka, "approvals-rig")

    def send(self, topic: str, key: str, model: AvroModel) -> None:
        self.producer.send(topic, key=key, value=SERDE.encode(model.SCHEMA, model.to_record()))

    def flush(self) -> None:
        self.producer.flush(60)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        options = ApprovalsOptions(tokens={"default": SecretStr("xoxb-rig")},
                                   slack_users=SlackUsers())  # fmt: skip
        app = build(self.kafka, self.settings, CONFIG, options)
        running = asyncio.create_task(app.run())
        try:
            yield
        finally:
            app.stop()
            await asyncio.wait_for(running, 60)

    def audit_marks(self) -> dict[int, int]:
        """The audit topic's end offsets now: `audit_of` reads from there."""
        consumer = Consumer(self.kafka.client_config("approvals-rig-audit") | {
            "group.id": "approvals-rig-audit"})  # fmt: skip
        try:
            partitions = consumer.list_topics(AUDIT_TOPIC, timeout=30).topics[AUDIT_TOPIC]
            return {p: watermarks(consumer, TopicPartition(AUDIT_TOPIC, p))[1]
                    for p in partitions.partitions}  # fmt: skip
        finally:
            consumer.close()

    async def audit_of(self, key: str, *, since: dict[int, int]) -> list[dict[str, Any]]:
        """Every audit record about `key` written after `since` and before now."""
        return await asyncio.to_thread(self._audit_of, key, since)

    def _audit_of(self, key: str, since: dict[int, int]) -> list[dict[str, Any]]:
        consumer = Consumer(self.kafka.client_config("approvals-rig-audit") | {
            "group.id": "approvals-rig-audit", "isolation.level": "read_committed"})  # fmt: skip
        try:
            ends = {p: high for p, high in self.audit_marks().items() if high > since.get(p, 0)}
            consumer.assign([TopicPartition(AUDIT_TOPIC, p, since.get(p, 0)) for p in ends])
            found: list[dict[str, Any]] = []
            deadline = time.monotonic() + 60
            while ends:
                assert time.monotonic() < deadline, "the audit topic was not read to its end"
                for message in consumer.consume(500, 0.2):
                    if not message.error() and message.key() == key.encode():
                        found.append(decoded(message))
                # Positions pass transaction markers too, which no message shows.
                for tp in consumer.position([TopicPartition(AUDIT_TOPIC, p) for p in list(ends)]):
                    if tp.offset >= ends[tp.partition]:
                        ends.pop(tp.partition)
            return found
        finally:
            consumer.close()

    def committed(self, topic: str) -> int:
        """How many records of `topic` the service's group has committed, over all partitions."""
        consumer = Consumer(self.kafka.client_config("approvals-rig-offsets") | {
            "group.id": self.settings.group_id})  # fmt: skip
        try:
            partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
            offsets = consumer.committed([TopicPartition(topic, p) for p in partitions], 30)
            return sum(max(tp.offset, 0) for tp in offsets)
        finally:
            consumer.close()

    async def first(self, topic: str, *, within: float) -> Message:
        return await asyncio.to_thread(self._first, topic, within)

    def _first(self, topic: str, timeout: float) -> Message:
        group = f"{topic}-reader"
        consumer = Consumer(self.kafka.client_config(group) | {
            "group.id": group, "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        })  # fmt: skip
        consumer.subscribe([topic])
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = consumer.poll(0.2)
                if message is not None and not message.error():
                    return message
            raise AssertionError(f"nothing on {topic} within {timeout}s")
        finally:
            consumer.close()


def decoded(message: Message) -> dict[str, Any]:
    value = message.value()
    assert isinstance(value, bytes)
    return SERDE.decode(value)[1]


def gestures(outcome: str) -> float:
    return REGISTRY.get_sample_value("mlc_approval_gestures_total", {"outcome": outcome}) or 0.0


async def until_more(outcome: str, than: float, *, within: float) -> None:
    """Waits, bounded, until the desk has counted one more gesture with `outcome`."""
    deadline = time.monotonic() + within
    while gestures(outcome) <= than:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {outcome} gesture within {within}s")
        await asyncio.sleep(0.05)
