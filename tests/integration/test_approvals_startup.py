"""On the real broker: the approvals service starts consuming gestures only after its views
of the Slack sink's ledger and of the employees hold everything that was there at start.

The ledger and employee topics are filled first (the entries a gesture needs last, behind
many others), then a gesture waits on the events topic when the service starts. Consuming
before the views have caught up drops the gesture (no ledger entry yet) or finds no approver
(no employee record yet); caught up, the gesture is authorised on its first attempt.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from approvals.config import ApprovalsConfig, ApprovalsFile, ApprovalsSettings
from approvals.inject import ApprovalsOptions, ApprovalsTopics, build
from chassis.kafka.producer import EventProducer
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import ensure_topics
from events.approvals import ApprovalSignal
from events.commands import ApplyVismaAction
from events.deliveries import DeliveryStatus, SinkDelivery
from events.slack_events import SlackEventReceived
from events.visma_reference import Employee, EmployeeChanged

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
TENANT = "tenant-se-1"
CHANNEL = "C0STARTUP"
EMPLOYEE = "E0999"
EMAIL = "late.approver@example.se"
SLACK_USER = "U0LATE"
ENTRIES = 120_000
"""Ledger entries before the one the gesture needs (employee records: a third of that)."""


class SlackUsers:
    async def user_id(self, *, workspace: str, email: str) -> str | None:
        return SLACK_USER if email == EMAIL else None


def _ledger_entry(n: int) -> SinkDelivery:
    return SinkDelivery(
        command_id=f"cmd-{n}",
        sink="slack-sink",
        status=DeliveryStatus.DONE,
        destination="default/ap-approvals",
        external_id=f"1767225600.{n:06d}",
        at=datetime(2026, 1, 1, tzinfo=UTC),
        channel_id=CHANNEL,
        ts=f"1767225600.{n:06d}",
        tenant_id=TENANT,
        company_id=TENANT,
        entity_type="supplierInvoice",
        entity_id=f"{TENANT}/{TENANT}/supplierInvoice/Invoice:{n:06d}",
        rule="all-invoices",
    )


def _employee(number: str, email: str) -> EmployeeChanged:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return EmployeeChanged(
        event_id=f"ev-{number}", tenant_id=TENANT, company_id=TENANT, entity_id=number,
        change_type="UPDATED", last_modified=now, observed_at=now,
        employee=Employee(employee_number=number, email=email),
    )  # fmt: skip


def _fill(kafka: KafkaSettings, topics: ApprovalsTopics) -> SinkDelivery:
    producer = EventProducer(kafka, "approvals-startup-test")
    for n in range(ENTRIES + 1):
        entry = _ledger_entry(n)
        producer.send(topics.ledger.name, key=entry.command_id,
                      value=SERDE.encode(entry.SCHEMA, entry.to_record()))  # fmt: skip
    for n in range(ENTRIES // 3):
        person = _employee(f"E{n:05d}", f"person{n}@example.se")
        producer.send(topics.employees.name, key=person.key,
                      value=SERDE.encode(person.SCHEMA, person.to_record()))  # fmt: skip
    approver = _employee(EMPLOYEE, EMAIL)
    producer.send(topics.employees.name, key=approver.key,
                  value=SERDE.encode(approver.SCHEMA, approver.to_record()))  # fmt: skip
    target = _ledger_entry(ENTRIES)
    gesture = SlackEventReceived(
        event_id="Ev-startup-1", team_id="T0MLC", event_type="reaction_added", user=SLACK_USER,
        channel=CHANNEL, message_ts=str(target.ts), event_ts="1767225700.000001",
        reaction="white_check_mark", event_time=datetime.now(UTC), received_at=datetime.now(UTC),
    )  # fmt: skip
    producer.send(topics.events.name, key=gesture.key,
                  value=SERDE.encode(gesture.SCHEMA, gesture.to_record()))  # fmt: skip
    producer.flush(60)
    return target


def _first_record(
    kafka: KafkaSettings, topic: str, group: str, timeout: float
) -> dict[str, object]:
    consumer = Consumer(
        kafka.client_config(group)
        | {"group.id": group, "auto.offset.reset": "earliest", "isolation.level": "read_committed"}
    )
    consumer.subscribe([topic])
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                value = message.value()
                assert isinstance(value, bytes)
                return SERDE.decode(value)[1]
        raise AssertionError(f"nothing on {topic} within {timeout}s")
    finally:
        consumer.close()


def _gestures(outcome: str) -> float:
    return REGISTRY.get_sample_value("mlc_approval_gestures_total", {"outcome": outcome}) or 0.0


def test_gestures_wait_for_the_ledger_and_employee_views(kafka_bootstrap: str, unique: str) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    settings = ApprovalsSettings(
        group_id=f"approvals-{unique}", topic_prefix=f"startup-{unique}.",
        match_wait_seconds=0, employee_wait_seconds=0,
    )  # fmt: skip
    topics = ApprovalsTopics.of(settings)
    everything = [topics.events, topics.ledger, topics.employees, topics.signals, topics.actions]
    ensure_topics(AdminClient(kafka.client_config("startup-test")), everything,
                  replication_factor=1)  # fmt: skip
    target = _fill(kafka, topics)
    config = ApprovalsConfig(
        ApprovalsFile.model_validate({"tenants": [{"tenant_id": TENANT, "approvers": [EMPLOYEE]}]})
    )
    before = {o: _gestures(o) for o in ("awaiting_ledger", "not_an_approver", "actioned")}

    async def scenario() -> tuple[dict[str, object], dict[str, object]]:
        options = ApprovalsOptions(tokens={"default": SecretStr("xoxb-startup")},
                                   slack_users=SlackUsers())  # fmt: skip
        app = build(kafka, settings, config, options)
        running = asyncio.create_task(app.run())
        try:
            signal = await asyncio.to_thread(
                _first_record, kafka, topics.signals.name, f"signals-{unique}", 60
            )
            action = await asyncio.to_thread(
                _first_record, kafka, topics.actions.name, f"actions-{unique}", 30
            )
        finally:
            app.stop()
            await asyncio.wait_for(running, 60)
        return signal, action

    signal, action = asyncio.run(scenario())

    assert ApprovalSignal.from_record(signal).authorised  # the employee view had the approver
    command = ApplyVismaAction.from_record(action)
    assert (command.entity_id, command.action) == (target.entity_id, "release")
    assert _gestures("awaiting_ledger") == before["awaiting_ledger"]  # found at the first try
    assert _gestures("not_an_approver") == before["not_an_approver"]
    assert _gestures("actioned") == before["actioned"] + 1
