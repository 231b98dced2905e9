"""Reminders and digests from a real `python -m processor` on the real broker.

Periods are seconds here (`every: 3s`, a digest due a few seconds after the rules reload)
so the test waits on records, never sleeps through a day. Every wait polls Kafka until the
expected records arrived or a deadline passed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from chassis.serde import AvroSerde, SchemaCatalog
from chassis.topics import ensure_topics
from events import ChangeType, PostSlackMessage, SupplierInvoice, SupplierInvoiceChanged
from events.commands import SendEmail
from processor.config import ProcessorSettings
from processor.routing import command_id
from tests.integration.processor_run import stop

pytestmark = pytest.mark.integration
SERDE = AvroSerde(SchemaCatalog.load())
EVERY = timedelta(seconds=3)
REMIND_RULE = """\
rules:
  - name: overdue
    when: {approval_status: Pending, due: {overdue: true}, min_amount: {SEK: 1}}
    remind: {every: 3s}
    targets:
      - slack: {channel: ap-overdue}
"""
DIGEST_RULE = """\
  - name: nok-digest
    when: {min_amount: {NOK: 1}}
    targets:
      - email: {to: [ap@example.com]}
        digest: {daily_at: "AT", timezone: UTC}
        template: "{{ vendor }} {{ money(amount, currency) }}"
"""


@dataclass
class Watch:
    """Reads the command and audit topics from the start, keeping every decoded record."""

    consumer: Consumer
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def until(self, done: Callable[[], bool], what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            message = self.consumer.poll(0.5)
            if message is not None and message.error() is None:
                record = SERDE.decode(message.value())[1]
                self.records.setdefault(message.topic(), []).append(record)


@dataclass
class Run:
    settings: ProcessorSettings
    rules_path: Path
    log_path: Path
    kafka: str
    watch: Watch
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> subprocess.Popen[bytes]:
        s = self.settings
        env = os.environ | {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "MLC_PROCESSOR_APP_ID": s.app_id,
            "MLC_PROCESSOR_TOPIC_PREFIX": s.topic_prefix,
            "MLC_PROCESSOR_INPUT_TOPIC": s.input_topic or "",
            "MLC_PROCESSOR_AUDIT_TOPIC": s.audit_topic,
            "MLC_PROCESSOR_DLQ_TOPIC": s.dlq_spec().name,
            "MLC_PROCESSOR_ENRICHMENT_WAIT_SECONDS": "0",
            "MLC_PROCESSOR_RULES_CHECK_SECONDS": "0.5",
            "MLC_PROCESSOR_SCHEDULE_CHECK_SECONDS": "0.5",
        }
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "processor", "--rules", str(self.rules_path)],
            env=env, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT,
        ))  # fmt: skip
        return self.procs[-1]

    def produce(self, *events: SupplierInvoiceChanged) -> None:
        producer = Producer({"bootstrap.servers": self.kafka, "enable.idempotence": True})
        for event in events:
            producer.produce(self.settings.input_topic or "", key=event.key.encode(),
                             value=SERDE.encode(event.SCHEMA, event.to_record()))  # fmt: skip
        assert producer.flush(30) == 0

    def slack(self) -> list[dict[str, Any]]:
        return self.watch.records.get(self.settings.command_topic(PostSlackMessage), [])

    def emails(self) -> list[dict[str, Any]]:
        return self.watch.records.get(self.settings.command_topic(SendEmail), [])

    def audit(self) -> list[dict[str, Any]]:
        return self.watch.records.get(self.settings.audit_topic, [])

    def reminders_of(self, event: SupplierInvoiceChanged) -> list[dict[str, Any]]:
        return [c for c in self.slack() if c["entity_id"] == event.key
                and c["text"].startswith("Reminder: ")]  # fmt: skip


@pytest.fixture
def run(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Run]:
    run_id = uuid.uuid4().hex[:10]
    settings = ProcessorSettings(
        app_id=f"it-scheduled-{run_id}", topic_prefix=f"it.{run_id}.",
        input_topic=f"it.{run_id}.supplier-invoice.v1", audit_topic=f"it.{run_id}.audit.v1",
        dlq_topic=f"it.{run_id}.dlq.v1",
    )  # fmt: skip
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), settings.topic_specs())
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": f"it-{run_id}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
    consumer.subscribe([settings.command_topic(PostSlackMessage),
                        settings.command_topic(SendEmail), settings.audit_topic])  # fmt: skip
    run = Run(settings, tmp_path / "rules.yaml", tmp_path / "processor.log", kafka_bootstrap,
              Watch(consumer))  # fmt: skip
    run.rules_path.write_text(REMIND_RULE)
    yield run
    consumer.close()
    for proc in run.procs:
        stop(proc)


def invoice(n: int, *, at: datetime, currency: str = "SEK", approval: str = "Pending",
            due: date | None = None) -> SupplierInvoiceChanged:  # fmt: skip
    entity_id = f"Invoice:{n}"
    return SupplierInvoiceChanged(
        event_id=f"t1/c1/supplierInvoice/{entity_id}@{int(at.timestamp() * 1000)}",
        tenant_id="t1", company_id="c1", entity_id=entity_id,
        change_type=ChangeType.CREATED if approval == "Pending" else ChangeType.UPDATED,
        last_modified=at, observed_at=at,
        invoice=SupplierInvoice(
            document_type="Invoice", reference_number=str(n), supplier_name=f"Vendor {n}",
            currency=currency, amount=Decimal(1000 + n), approval_status=approval,
            status="PendingApproval" if approval == "Pending" else "Open",
            due_date=due or at.date() - timedelta(days=10),
        ),
    )  # fmt: skip


def periods(reminders: list[dict[str, Any]], anchor: datetime) -> list[int]:
    return [round((r["created_at"] - anchor) / EVERY) for r in reminders]


def test_reminders_once_per_period_until_approved_and_a_daily_digest(run: Run) -> None:
    run.start()
    now = datetime.now(UTC).replace(microsecond=0)
    overdue = invoice(1, at=now)
    run.produce(overdue)
    run.watch.until(lambda: len(run.reminders_of(overdue)) >= 3, "three reminders")
    [posted] = [c for c in run.slack() if c["source_event_id"] == overdue.event_id
                and not c["text"].startswith("Reminder")]  # fmt: skip
    assert posted["command_id"] == command_id(overdue.event_id, "overdue", "default/ap-overdue")

    # The digest: due a few seconds after the reloaded rules are in force.
    send_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
    run.rules_path.write_text(REMIND_RULE + DIGEST_RULE.replace("AT", send_at.strftime("%H:%M:%S")))
    run.watch.until(lambda: "rules reloaded" in run.log_path.read_text(), "the reload")
    seen_at = datetime.now(UTC)
    digested = [invoice(10 + n, at=seen_at, currency="NOK", due=date(2099, 1, 1)) for n in range(3)]
    run.produce(*digested, digested[0])  # the poller's overlap window repeats one

    approved = invoice(1, at=now + timedelta(seconds=1), approval="Approved")
    run.produce(approved)
    run.watch.until(lambda: any(a["event_id"] == approved.event_id for a in run.audit()),
                    "the approval to be processed")  # fmt: skip
    [handled] = [a for a in run.audit() if a["event_id"] == approved.event_id]
    later = invoice(2, at=datetime.now(UTC))
    run.produce(later)  # its reminders show that periods went by after the approval
    run.watch.until(lambda: len(run.reminders_of(later)) >= 2, "reminders of a later invoice")
    reminders = run.reminders_of(overdue)
    assert all(r["created_at"] <= handled["at"] for r in reminders), "reminded after approval"
    found = periods(reminders, overdue.observed_at)
    assert len(found) == len(set(found)) == len({r["command_id"] for r in reminders})
    assert found == sorted(found)
    assert found[0] >= 1

    run.watch.until(lambda: len(run.emails()) >= 1, "the digest", timeout=180)
    [digest] = run.emails()
    day = send_at.date() if seen_at < send_at else send_at.date() + timedelta(days=1)
    assert digest["command_id"] == command_id(f"digest/t1/{day}", "nok-digest",
                                              "email:ap@example.com")  # fmt: skip
    assert digest["created_at"] == datetime.combine(day, send_at.time(), tzinfo=UTC)
    lines = digest["body"].splitlines()
    assert lines[0] == f"nok-digest: 3 for {day}"
    assert sorted(lines[1:]) == [f"• Vendor {10 + n} NOK {1010 + n:,}.00" for n in range(3)]
    # More periods of the later invoice pass: no second digest for the day appears.
    run.watch.until(lambda: len(run.reminders_of(later)) >= 4, "more timer rounds")
    assert len(run.emails()) == 1


def test_a_killed_processor_keeps_its_reminders_and_digest_items(run: Run) -> None:
    """SIGKILL mid-run: the restarted worker recovers both tables from their changelogs."""
    now = datetime.now(UTC).replace(microsecond=0)
    send_at = now + timedelta(seconds=75)
    run.rules_path.write_text(REMIND_RULE + DIGEST_RULE.replace("AT", send_at.strftime("%H:%M:%S")))
    overdue = invoice(1, at=now)
    digested = [invoice(10 + n, at=now, currency="NOK", due=date(2099, 1, 1)) for n in range(3)]
    run.produce(*digested, overdue)
    first = run.start()
    run.watch.until(lambda: len(run.reminders_of(overdue)) >= 2, "reminders before the kill")
    first.kill()  # SIGKILL: no commit, no flush
    first.wait(30)
    before = {r["command_id"] for r in run.reminders_of(overdue)}
    run.start()
    run.watch.until(lambda: len({r["command_id"] for r in run.reminders_of(overdue)} - before) >= 2,
                    "reminders after the restart")  # fmt: skip
    by_period: dict[int, set[str]] = {}
    for reminder in run.reminders_of(overdue):
        [period] = periods([reminder], overdue.observed_at)
        by_period.setdefault(period, set()).add(reminder["command_id"])
    assert all(len(ids) == 1 for ids in by_period.values()), "a period got two different ids"
    run.watch.until(lambda: len(run.emails()) >= 1, "the digest", timeout=180)
    digest = run.emails()[0]
    day = send_at.date() if now < send_at else send_at.date() + timedelta(days=1)
    assert digest["command_id"] == command_id(f"digest/t1/{day}", "nok-digest",
                                              "email:ap@example.com")  # fmt: skip
    assert sorted(digest["body"].splitlines()[1:]) == [
        f"• Vendor {10 + n} NOK {1010 + n:,}.00" for n in range(3)
    ]
    assert {e["command_id"] for e in run.emails()} == {digest["command_id"]}
