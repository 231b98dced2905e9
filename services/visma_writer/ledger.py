"""The writer's ledger entries, one shape for every kind of write.

One compacted topic keyed by command id (`state.visma-writer-ledger.v2`): PENDING just
before a call to Visma, DONE after it. `external_id` is what identifies the outcome in
Visma: the invoice's ETag for an action, the document's number for a document write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chassis.errors import KeptConflicting, PermanentError
from events.deliveries import DeliveryStatus, SinkDelivery

SINK = "visma-writer"


class Ledger(Protocol):
    """The command ledger (`chassis.kafka.ledger.CommandLedger[SinkDelivery]`)."""

    def get(self, command_id: str) -> SinkDelivery | None: ...

    async def write(self, entry: SinkDelivery) -> None: ...


class LedgerCommand(Protocol):
    """The fields of a command the ledger keeps."""

    @property
    def command_id(self) -> str: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def company_id(self) -> str: ...
    @property
    def entity_type(self) -> str: ...
    @property
    def entity_id(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def source_event_id(self) -> str: ...


class UnknownCompanyError(PermanentError):
    """The command names a company this writer has no Visma credentials for."""


class KeptChangingError(KeptConflicting):
    """The record changed under every attempt (412 each time); try again later."""


def ledger_entry(
    command: LedgerCommand, status: DeliveryStatus, external_id: str | None, *, at: datetime
) -> SinkDelivery:
    return SinkDelivery(
        command_id=command.command_id,
        sink=SINK,
        status=status,
        destination=command.company_id,
        external_id=external_id,
        at=at,
        tenant_id=command.tenant_id,
        company_id=command.company_id,
        entity_type=command.entity_type,
        entity_id=command.entity_id,
        rule=command.rule,
    )
