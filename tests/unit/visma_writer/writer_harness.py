"""The writer's unit-test harness: fake Visma (MockTransport), in-memory ledger and replies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from fake_visma import API, TOKEN_URL, FakeVisma
from pydantic import SecretStr

from chassis.audit import AuditTrail
from chassis.http import RetryPolicy
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.vault import CredentialVault, KeyRing, MasterKey
from events.commands import ApplyVismaAction
from events.deliveries import SinkDelivery
from events.slack import PostSlackMessage
from visma_writer.config import WriterConfig
from visma_writer.credentials import ClientSettings, CompanyClients
from visma_writer.writer import VismaWriter

SERDE = AvroSerde(SchemaCatalog.load())


class MemoryLedger:
    """CommandLedger's behaviour without Kafka; keeps every write, in order."""

    def __init__(self) -> None:
        self.entries: dict[str, SinkDelivery] = {}
        self.writes: list[SinkDelivery] = []

    def get(self, command_id: str) -> SinkDelivery | None:
        return self.entries.get(command_id)

    async def write(self, entry: SinkDelivery) -> None:
        # Encoded as the real ledger does, so a model/schema mismatch fails here too.
        SERDE.encode(entry.SCHEMA, entry.to_record())
        self.entries[entry.command_id] = entry
        self.writes.append(entry)


class MemoryLog:
    """The vault's credential log in memory (the real vault seals and unseals)."""

    def __init__(self) -> None:
        self.log: list[tuple[str, bytes]] = []

    def read_all(self) -> dict[str, bytes]:
        return dict(self.log)

    def read_log(self) -> list[tuple[str, bytes]]:
        return list(self.log)

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        self.log.extend(records)


CREDENTIAL = "visma.client-secret/c1"
FIRST_SECRET = "first-client-secret-0001"


class MemoryReplies:
    """The Slack sink's topic without Kafka: every reply sent, in order."""

    def __init__(self) -> None:
        self.sent: list[PostSlackMessage] = []

    async def send(self, message: PostSlackMessage) -> None:
        SERDE.encode(message.SCHEMA, message.to_record())
        self.sent.append(message)

    def texts(self) -> list[str]:
        return [m.text for m in self.sent]


class AuditLog:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.trail = AuditTrail(service="visma-writer", serde=SERDE, publish=self._publish)

    def _publish(self, key: str, value: bytes) -> None:
        self.events.append(SERDE.decode(value)[1])

    def stages(self) -> list[str]:
        return [e["stage"] for e in self.events]


def command(
    entity: str = "Invoice:000123", action: str = "release", *, command_id: str = "cmd-1",
    company: str = "c1", entity_type: str = "supplierInvoice", comment: str = "Approved by Ann",
    reply: bool = False, decision: str = "approve",
) -> ApplyVismaAction:  # fmt: skip
    """An approval's command; with `reply`, it names a thread to tell the outcome in."""
    thread = {"reply_workspace": "T1", "reply_channel": "C1", "reply_thread_ts": "1700.01",
              "requested_by": "U-ANN", "decision": decision} if reply else {}  # fmt: skip
    return ApplyVismaAction(
        command_id=command_id,
        tenant_id="t1",
        rule="approvals",
        source_event_id="signal-1",
        entity_type=entity_type,
        entity_id=f"t1/{company}/{entity_type}/{entity}",
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
        company_id=company,
        action=action,
        comment=comment,
        **thread,
    )


class Harness:
    """The writer over a fake Visma; company c1's client secret is in a vault (in memory)."""

    def __init__(self, *, hold_seconds: float = 300.0) -> None:
        self.visma = FakeVisma()
        self.ledger = MemoryLedger()
        self.audit = AuditLog()
        self.replies = MemoryReplies()
        self.vault = CredentialVault(MemoryLog(), KeyRing(MasterKey.generate()))
        self.vault.put(CREDENTIAL, SecretStr(FIRST_SECRET))
        file = WriterConfig.model_validate({
            "token_url": TOKEN_URL, "api_base": API,
            "companies": [{"tenant_id": "t1", "company_id": "c1", "client_id": "cid",
                           "credential": CREDENTIAL}],
        })  # fmt: skip
        self.companies = CompanyClients(
            ClientSettings(file, httpx.MockTransport(self.visma), RetryPolicy(max_attempts=1), 1.0),
            vault=lambda: self.vault, hold_seconds=hold_seconds, refresh_seconds=0.01,
        )  # fmt: skip
        self.writer = VismaWriter(
            companies=self.companies.actions,
            ledger=self.ledger,
            audit=self.audit.trail,
            replies=self.replies,
            max_conflicts=2,
        )

    def ledger_trail(self, command_id: str = "cmd-1") -> list[tuple[str, str | None]]:
        return [
            (e.status.value, e.external_id)
            for e in self.ledger.writes
            if e.command_id == command_id
        ]
