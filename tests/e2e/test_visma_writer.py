"""The Visma writer as a process on the real broker, the Visma sandbox behind it.

Approvals go in as ApplyVismaAction commands; the sandbox counts the actions it applied, so
"approved exactly once" is checked where it matters, in Visma. On the way, another user saves
one invoice while the writer's release is in flight (412, re-read, retry), the writer is
SIGKILLed with releases in flight, and commands are delivered twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer
from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from events.commands import ApplyVismaAction
from events.deliveries import DeliveryStatus, SinkDelivery
from mlc.stack import FlowStack
from tests.e2e.test_slack_sink import dead_letters

pytestmark = pytest.mark.e2e

COMPANY = "tenant-se-1"
SERDE = AvroSerde(SchemaCatalog.load())
PARTITIONS = 6


def release(entity_id: str, *, company: str = COMPANY) -> ApplyVismaAction:
    return ApplyVismaAction(
        command_id=f"approve-{company}-{entity_id}",
        tenant_id=company,
        rule="approvals",
        source_event_id=f"signal-{entity_id}",
        entity_type="supplierInvoice",
        entity_id=f"{company}/{company}/supplierInvoice/{entity_id}",
        created_at=datetime.now(UTC),
        company_id=company,
        action="release",
        comment="Approved in Slack by ann@example.com",
    )


class WriterRun:
    """The commands topic, the ledger and the sandbox's counts of one stack's writer."""

    def __init__(self, stack: FlowStack, kafka: str) -> None:
        self.stack = stack
        self.settings = KafkaSettings(bootstrap_servers=kafka)
        self.commands = f"{stack.topics.prefix}sink.visma-writer.v1"
        self.ledger = f"{stack.topics.prefix}state.visma-writer-ledger.v2"
        self.group = f"run-{stack.run_id}-writer"
        ensure_topics(
            AdminClient(self.settings.client_config("test")),
            [
                TopicSpec(self.commands, PARTITIONS),
                TopicSpec(self.ledger, PARTITIONS, compacted=True),
            ],
        )
        self.producer = EventProducer(self.settings, "test")

    def send(self, *commands: ApplyVismaAction) -> None:
        for command in commands:
            value = SERDE.encode(command.SCHEMA, command.to_record())
            self.producer.send(self.commands, key=command.key, value=value)
        self.producer.flush()

    def admin(self, verb: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(
            verb, f"{self.stack.base_url}/visma/_sandbox{path}", json=body, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def counts(self) -> dict[tuple[str, str], int]:
        rows = self.admin("GET", f"/actions?company={COMPANY}")
        return {(r["entityId"], r["action"]): r["count"] for r in rows}

    def entries(self) -> list[SinkDelivery]:
        """Every ledger write in order (compaction cannot have run within the test)."""
        records = iter_to_end(self.settings, self.ledger, client=f"test-{self.stack.run_id}")
        return [SinkDelivery.from_record(SERDE.decode(value)[1]) for _, value in records]

    def done(self) -> set[str]:
        return {e.command_id for e in self.entries() if e.status is DeliveryStatus.DONE}

    def all_handled(self) -> bool:
        """The writer's group has committed every command produced so far."""
        consumer = Consumer(self.settings.client_config("test") | {"group.id": self.group})
        try:
            tps = [TopicPartition(self.commands, p) for p in range(PARTITIONS)]
            ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in tps]
            committed = consumer.committed(tps, timeout=10)
            return all(
                end == 0 or tp.offset >= end for tp, end in zip(committed, ends, strict=True)
            )
        finally:
            consumer.close()

    def wait(self, what: str, done: Callable[[], bool], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.stack.check_alive()
            if done():
                return
            time.sleep(0.2)
        raise AssertionError(f"{what} did not happen within {timeout}s")


def test_every_approval_is_applied_in_visma_exactly_once(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = make_stack(invoices=30)
    # A static group member, as a pod: the restarted writer takes over at once instead of
    # waiting out the killed one's session.
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", f"writer-{stack.run_id}")
    stack.start_sandbox()
    run = WriterRun(stack, kafka_bootstrap)
    invoices = run.admin("GET", f"/invoices?company={COMPANY}")
    open_ = [i["documentType"] + ":" + i["referenceNumber"] for i in invoices
             if i["status"] in ("Balanced", "PendingApproval")]  # fmt: skip
    assert len(open_) >= 6, "the seed should leave several invoices to approve"
    contested, rest = open_[0], open_[1:]

    # 1. Someone saves the invoice while the writer's release is on its way: 412.
    document_type, _, number = contested.partition(":")
    path = f"/v1/supplierInvoice/{document_type}/{number}/action"
    run.admin("POST", "/faults", {"method": "POST", "delay_seconds": 4.0, "times": 1,
                                  "path_prefix": path})  # fmt: skip
    writer = stack.start("visma-writer")
    run.send(release(contested))
    run.wait("the contested release reaching Visma", lambda: not run.admin("GET", "/faults"))
    edit = run.admin("POST", f"/invoices/{COMPANY}/{contested}/concurrent-edit")
    run.wait("the contested release", lambda: run.counts().get((contested, "release")) == 1)
    pending = [
        e.external_id
        for e in run.entries()
        if e.command_id == release(contested).command_id and e.status is DeliveryStatus.PENDING
    ]
    assert pending == [edit["previous"], edit["timeStamp"]], "412, read again, retried"

    # 2. SIGKILL with releases held in flight by the sandbox; then duplicates; then restart.
    run.admin("POST", "/faults", {"method": "POST", "delay_seconds": 3.0, "times": None,
                                  "path_prefix": "/v1/supplierInvoice"})  # fmt: skip
    run.send(*(release(e) for e in rest))
    run.wait("releases in flight", lambda: run.admin("GET", "/faults")[0]["fired"] >= 2)
    writer.kill()
    entries = run.entries()
    finished = {e.command_id for e in entries if e.status is DeliveryStatus.DONE}
    cut = {e.command_id for e in entries if e.command_id not in finished}
    assert len(cut) >= 2, "the kill interrupted releases between PENDING and DONE"
    run.admin("DELETE", "/faults")
    unknown = release(rest[0], company="tenant-xx-9")
    run.send(release(contested), *(release(e) for e in rest[:3]), unknown)
    stack.start("visma-writer")

    wanted = {release(e).command_id for e in open_}
    run.wait("every command DONE in the ledger", lambda: run.done() >= wanted, timeout=120)
    run.wait("every command handled", run.all_handled)

    assert run.counts() == {(e, "release"): 1 for e in open_}
    statuses = {i["documentType"] + ":" + i["referenceNumber"]: i["status"]
                for i in run.admin("GET", f"/invoices?company={COMPANY}")}  # fmt: skip
    assert {statuses[e] for e in open_} == {"Open"}
    dlq_topic = f"dlq.{run.group}.v1"
    assert len(list(iter_to_end(run.settings, dlq_topic, client="test-dlq"))) == 1
    dlq = dead_letters(kafka_bootstrap, dlq_topic, want=1)
    assert b"UnknownCompanyError" in dlq[0]["dlq-reason"]
