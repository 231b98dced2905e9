"""The airbase-sink's replay adapter: its group and topics, its ledger's meaning, and a lookup
of a command's objects by their ERP reference.

The sink avoids duplicates by a lookup, not an idempotency key: before any create it asks
Airbase for the object holding the record's `erp_reference_id` (`airbase_sink.delivery`).
The replay asks the same, read-only, for every object the command writes (`records.translate`,
the sink's own translation): found when each is there, with the sink's DONE entry (the
airbase_id, or the ids joined by commas when the command wrote several). A purchase receipt
only changes orders (marks them received), so its orders count as found only when Airbase
shows them received. A MarkAirbaseEntrySynced is found when its ledger entry reads synced
with the command's Visma payment number. A found command is not written again: an older
version of a record never overwrites a newer one Airbase already holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from airbase_client import LEDGER_ENTRIES, AirbaseClient, AirbaseNotFound
from airbase_sink.inject import SERVICE, check_options, profile_of
from airbase_sink.ledger import Ledger
from airbase_sink.main import options_from
from airbase_sink.records import AirbaseWrite, UnusableRecordError, translate
from airbase_sink.tenants import AirbaseTenant
from chassis.errors import PermanentError
from chassis.kafka.record import Record
from chassis.settings import ServiceSettings
from chassis.tokens import HolderTokens
from chassis.vault import vault_from_environment
from events.airbase_deliveries import STATE_AIRBASE_LEDGER
from events.command_topics import SINK_AIRBASE
from events.commands import MarkAirbaseEntrySynced, SyncToAirbase
from mlc.replay_contract import (
    CommandLedgerTopic,
    LedgerState,
    ReplayCommand,
    ReplayContext,
    delivery_state,
    prefixed,
)

SYNCED = "synced"


class MissingTokenError(PermanentError):
    """The tenants file names a tenant whose token the vault does not hold."""


@dataclass(frozen=True)
class _Found:
    """Where `record_found` writes a found command's entry, as the sink would."""

    target: str
    airbase_id: str


class AirbaseReplay:
    sink = SERVICE
    system = "Airbase"

    def __init__(
        self, context: ReplayContext, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        """`transport` carries the lookups (tests: the in-process sandbox)."""
        options = options_from(context.sink_args, ServiceSettings())
        self.expiry, self._tenants = check_options(options)
        self._options = options
        self._context = context
        self._transport = transport
        self.group_id = context.group_id or options.group_id
        topic = CommandLedgerTopic(
            commands=prefixed(options.commands_topic.name, SINK_AIRBASE.name, context.prefix),
            ledger=prefixed(options.ledger_topic.name, STATE_AIRBASE_LEDGER.name, context.prefix),
        )
        self.topics = (topic,)
        self._ledger = Ledger(
            topic=topic.ledger, producer=context.producer, serde=context.serde,
            client=f"{SERVICE}-replay-ledger", expiry=self.expiry,
        )  # fmt: skip
        self._tokens: HolderTokens | None = None
        self._clients: dict[str, AirbaseClient] = {}
        self._found: dict[str, _Found] = {}

    def decode(self, record: Record) -> ReplayCommand:
        command: SyncToAirbase | MarkAirbaseEntrySynced
        if record.schema == MarkAirbaseEntrySynced.SCHEMA:
            command = MarkAirbaseEntrySynced.from_record(record.value)
        elif record.schema == SyncToAirbase.SCHEMA:
            command = SyncToAirbase.from_record(record.value)
        else:
            raise ValueError(f"the airbase-sink has no handler for {record.schema!r}")
        return ReplayCommand.of(record, command)

    def ledger_state(self, topic: CommandLedgerTopic, fields: dict[str, Any]) -> LedgerState:
        return delivery_state(fields)

    def searchable(self, command: ReplayCommand) -> str | None:
        tenant = self._tenants.get(command.command.tenant_id)
        if tenant is None:
            return (
                f"tenant {command.command.tenant_id} has no Airbase account in the sink's "
                "tenants file (the sink dead-letters it)"
            )
        if isinstance(command.command, SyncToAirbase):
            try:
                translate(command.command, tenant)
            except UnusableRecordError as exc:
                return f"its record cannot become an Airbase object ({exc})"
        return None

    async def find(self, command: ReplayCommand) -> str | None:
        tenant = self._tenants[command.command.tenant_id]
        client = self._client(tenant)
        if isinstance(command.command, MarkAirbaseEntrySynced):
            found = await _synced_entry(client, command.command)
        else:
            found = await _written_objects(client, command.command, tenant)
        if found is None:
            return None
        self._found[command.command_id] = found
        return found.airbase_id

    async def record_found(self, command: ReplayCommand, external_id: str) -> None:
        found = self._found[command.command_id]
        cmd: SyncToAirbase | MarkAirbaseEntrySynced = command.command
        company = cmd.company_id if isinstance(cmd, MarkAirbaseEntrySynced) else None
        tenant = self._tenants[cmd.tenant_id]
        await self._ledger.done(
            cmd.command_id, tenant=cmd.tenant_id, company=company or tenant.company_id,
            target=found.target, airbase_id=external_id, entity_type=cmd.entity_type,
            entity_id=cmd.entity_id, rule=cmd.rule,
        )  # fmt: skip

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    def _client(self, tenant: AirbaseTenant) -> AirbaseClient:
        """The tenant's client with the sink's own token (the vault, or the options); the
        vault is opened only when a lookup is needed."""
        if tenant.tenant_id not in self._clients:
            if self._tokens is None:
                settings, tokens = self._context.settings, self._options.tokens
                self._tokens = HolderTokens(
                    tokens=tokens,
                    vault_names={t: a.credential for t, a in self._tenants.items()
                                 if t not in tokens},
                    vault=self._context.vault or (lambda: vault_from_environment(kafka=settings)),
                )  # fmt: skip
            held = self._tokens.get(tenant.tenant_id)
            if held is None:
                raise MissingTokenError(f"tenant {tenant.tenant_id}: no Airbase token")
            self._clients[tenant.tenant_id] = AirbaseClient(
                tenant.api_base, held.token, profile_of(tenant), transport=self._transport,
                timeout=self._options.request_timeout,
            )  # fmt: skip
        return self._clients[tenant.tenant_id]


async def _written_objects(
    client: AirbaseClient, command: SyncToAirbase, tenant: AirbaseTenant
) -> _Found | None:
    """Each object the command writes, when Airbase holds every one (a change-only write:
    with its fields set); None as soon as one is missing."""
    translation = translate(command, tenant)
    if translation.skipped is not None or not translation.writes:
        return None  # nothing to find: the sink skips it again, calling nothing
    ids = []
    for write in translation.writes:
        found = await client.find_by_erp_reference(write.resource, write.erp_reference_id)
        if found is None or (write.create is None and not _shows(found, write)):
            return None
        ids.append(found.airbase_id)
    writes = translation.writes
    target = writes[0].target if len(writes) == 1 else writes[0].resource
    return _Found(target=target, airbase_id=",".join(ids))


def _shows(found: object, write: AirbaseWrite) -> bool:
    """The object holds every field the write sets (a receipt: the order is received)."""
    return all(getattr(found, name, None) == value for name, value in write.update.items())


async def _synced_entry(client: AirbaseClient, command: MarkAirbaseEntrySynced) -> _Found | None:
    try:
        entry = await client.get(LEDGER_ENTRIES, command.entry_id)
    except AirbaseNotFound:
        return None
    if entry.status != SYNCED or entry.erp_reference_id != command.visma_payment_number:
        return None
    target = f"{LEDGER_ENTRIES.name}/{command.visma_payment_number}"
    return _Found(target=target, airbase_id=command.entry_id)


def build(context: ReplayContext) -> AirbaseReplay:
    return AirbaseReplay(context)
