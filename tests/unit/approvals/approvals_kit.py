"""Fakes and builders for the approvals unit tests: the desk's ports, in memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from approvals.approvers import Approvers
from approvals.config import ApprovalsConfig, ApprovalsFile
from approvals.desk import ApprovalDesk
from chassis.audit import AuditTrail
from chassis.serde import AvroSerde, SchemaCatalog
from events.approvals import ApprovalSignal
from events.commands import ApplyVismaAction
from events.deliveries import DeliveryStatus, SinkDelivery
from events.slack_events import SlackEventReceived

SERDE = AvroSerde(SchemaCatalog.load())
TENANT = "tenant-se-1"
ENTITY = f"{TENANT}/{TENANT}/supplierInvoice/Invoice:000001"
CHANNEL_ID = "C0AP"
MESSAGE_TS = "1767225600.000100"
APPROVER_EMAIL = "anna.berg@example.se"
APPROVER_SLACK = "U0ANNA"
EMPLOYEE_APPROVER = "E0002"
EMPLOYEE_EMAIL = "bo.lund@example.se"
EMPLOYEE_SLACK = "U0BO"
STRANGER_SLACK = "U0EVE"

CONFIG_YAML: dict[str, Any] = {
    "tenants": [{"tenant_id": TENANT, "approvers": [APPROVER_EMAIL, EMPLOYEE_APPROVER]}]
}


def config(raw: dict[str, Any] | None = None) -> ApprovalsConfig:
    return ApprovalsConfig(ApprovalsFile.model_validate(raw or CONFIG_YAML))


def delivery(**changes: Any) -> SinkDelivery:
    fields: dict[str, Any] = {
        "command_id": "cmd-posted-1",
        "sink": "slack-sink",
        "status": DeliveryStatus.DONE,
        "destination": "default/ap-approvals",
        "external_id": MESSAGE_TS,
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "channel_id": CHANNEL_ID,
        "ts": MESSAGE_TS,
        "tenant_id": TENANT,
        "company_id": TENANT,
        "entity_type": "supplierInvoice",
        "entity_id": ENTITY,
        "rule": "all-invoices",
    }
    return SinkDelivery(**(fields | changes))


def reaction(
    name: str | None = "white_check_mark", *, user: str | None = APPROVER_SLACK, **changes: Any
) -> SlackEventReceived:
    fields: dict[str, Any] = {
        "event_id": f"Ev-{name}-{user}",
        "team_id": "T0MLC",
        "event_type": "reaction_added",
        "user": user,
        "channel": CHANNEL_ID,
        "message_ts": MESSAGE_TS,
        "event_ts": "1767225700.000200",
        "reaction": name,
        "event_time": datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
        "received_at": datetime(2026, 1, 1, 0, 1, 1, tzinfo=UTC),
    }
    return SlackEventReceived(**(fields | changes))


def reply(text: str, *, user: str = APPROVER_SLACK, **changes: Any) -> SlackEventReceived:
    return reaction(
        None, user=user, event_type="message", text=text,
        event_id=f"Ev-reply-{user}-{text}", **changes,
    )  # fmt: skip


class FakePosted:
    def __init__(self, *deliveries: SinkDelivery) -> None:
        self.by_message = {(d.channel_id, d.ts): d for d in deliveries}
        self.lookups = 0
        self.pending: list[tuple[str | None, datetime]] = []
        """PENDING entries (channel id, time) whose post's outcome is unknown."""

    async def wait_for(self, channel_id: str, ts: str, *, seconds: float) -> SinkDelivery | None:
        self.lookups += 1
        return self.by_message.get((channel_id, ts))

    def pending_around(self, channel_id: str, moment: datetime, *, margin: timedelta) -> bool:
        return any(
            channel in (channel_id, None) and abs(at - moment) <= margin
            for channel, at in self.pending
        )

    def arrived(self, entry: SinkDelivery) -> None:
        """The Slack sink's entry reaches the view (later than the gesture)."""
        self.by_message[(entry.channel_id, entry.ts)] = entry


class FakeEmployees:
    def __init__(self, emails: dict[str, str]) -> None:
        self.emails = emails

    async def email_of(
        self, *, tenant_id: str, company_id: str, employee_number: str
    ) -> str | None:
        return self.emails.get(f"{tenant_id}/{company_id}/employee/{employee_number}")


class FakeSlackUsers:
    def __init__(self, ids: dict[str, str]) -> None:
        self.ids = ids
        self.calls: list[str] = []

    async def user_id(self, *, workspace: str, email: str) -> str | None:
        self.calls.append(email)
        return self.ids.get(email)


@dataclass
class RecordingOutbox:
    signals: list[ApprovalSignal] = field(default_factory=list)
    actions: list[ApplyVismaAction] = field(default_factory=list)
    flushes: int = 0
    fail_next_flush: bool = False

    def signal(self, signal: ApprovalSignal) -> None:
        self.signals.append(signal)

    def action(self, command: ApplyVismaAction) -> None:
        self.actions.append(command)

    async def flush(self) -> None:
        if self.fail_next_flush:
            self.fail_next_flush = False
            raise RuntimeError("Kafka did not confirm")
        self.flushes += 1


@dataclass
class AuditLog:
    events: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, key: str, value: bytes) -> None:
        _, record = SERDE.decode(value)
        assert record["entity_id"] == key
        self.events.append(record)

    def stages(self) -> list[tuple[str, str]]:
        return [(e["stage"], e["detail"] or "") for e in self.events]


@dataclass
class Desk:
    desk: ApprovalDesk
    outbox: RecordingOutbox
    audit: AuditLog
    posted: FakePosted
    slack: FakeSlackUsers


NOW = datetime(2026, 1, 1, 0, 2, tzinfo=UTC)


def make_desk(
    *deliveries: SinkDelivery,
    raw_config: dict[str, Any] | None = None,
    clock: Any = None,
    now: Callable[[], datetime] = lambda: NOW,
    ledger_budget_seconds: float = 3600.0,
    read_through: Callable[[], datetime | None] = lambda: NOW,
) -> Desk:
    posted = FakePosted(*(deliveries or (delivery(),)))
    slack = FakeSlackUsers({APPROVER_EMAIL: APPROVER_SLACK, EMPLOYEE_EMAIL: EMPLOYEE_SLACK})
    employees = FakeEmployees({f"{TENANT}/{TENANT}/employee/{EMPLOYEE_APPROVER}": EMPLOYEE_EMAIL})
    outbox, audit = RecordingOutbox(), AuditLog()
    approvers = Approvers(
        employees=employees, slack=slack, cache_seconds=600, **({"clock": clock} if clock else {})
    )
    desk = ApprovalDesk(
        config=config(raw_config),
        posted=posted,
        approvers=approvers,
        outbox=outbox,
        audit=AuditTrail(service="approvals", serde=SERDE, publish=audit.publish),
        match_wait_seconds=0,
        ledger_read_through=read_through,
        ledger_budget_seconds=ledger_budget_seconds,
        now=now,
    )
    return Desk(desk, outbox, audit, posted, slack)
