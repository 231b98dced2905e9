"""Handles the airbase-sink's commands: SyncToAirbase (an upsert by ERP reference) and
MarkAirbaseEntrySynced (a payment Visma has booked).

For a SyncToAirbase, in its tenant's order (the commands are keyed by tenant):

1. DONE in the ledger: a replay, nothing is called (audited as skipped).
2. The record is translated (`records`): the objects to write and those that must exist
   first (a bill's vendor, made from the invoice's supplier when the supplier's own command
   has not come yet; the tenant's subsidiary). A record Airbase has no place for is audited
   as skipped.
3. Each needed object, then each object to write, is found in the ledger's index, else by
   its ERP reference in Airbase (`find_by_erp_reference`), and only when neither knows it is
   it created. The lookup before every create is what makes a crash after Airbase's 201
   harmless: the redelivered command finds the object instead of making a second. An object
   found is PATCHed with the record's fields; one someone deleted in Airbase (404 on the
   PATCH) is looked up again and made anew.
4. An audit event per object written (created or updated, its airbase_id), confirmed by
   Kafka, then DONE with the airbase_id.

A MarkAirbaseEntrySynced PATCHes the ledger entry synced with the Visma payment number;
Airbase answers a repeat with the same number as a success, and one with another number
(`AirbaseAlreadySynced`) is dead-lettered for a human. A token Airbase refuses holds the
tenant's commands until the vault has a new one (`chassis.tenant_clients`); 429 and 5xx are
the client's retries and then the runner's (`SystemUnavailable` waits without spending the
record's budget).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

from prometheus_client import Counter
from pydantic import ValidationError

from airbase_client import AirbaseCredentialsRefused, AirbaseNotFound
from airbase_sink.ledger import Ledger, need_command_id
from airbase_sink.ports import AirbaseAccount
from airbase_sink.records import AirbaseWrite, translate
from airbase_sink.tenants import AirbaseTenant
from chassis.audit import AuditTrail, Stage
from chassis.errors import NotArrivedYet, PermanentError
from chassis.kafka.producer import confirm
from chassis.kafka.record import Record
from chassis.tenant_clients import TenantClients
from events.commands import MarkAirbaseEntrySynced, SyncToAirbase

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITTEN = Counter(
    "mlc_airbase_objects_total", "Airbase objects created or updated", ["resource", "action"]
)
FOUND = Counter(
    "mlc_airbase_objects_found_total",
    "Objects the ledger did not know but Airbase held under their ERP reference",
    ["resource"],
)


class MalformedCommandError(PermanentError):
    """A record on the commands topic is not a command this sink handles."""


class UnknownTenantError(PermanentError):
    """A command names a tenant the sink has no Airbase account for."""


class OrderNotInAirbase(NotArrivedYet):
    """A receipt names a purchase order Airbase does not have yet (its own command comes)."""


@dataclass(frozen=True)
class Written:
    write: AirbaseWrite
    airbase_id: str
    action: str
    """created, updated or found (a needed object that was already there)."""


class AirbaseWrites:
    def __init__(
        self,
        *,
        tenants: Mapping[str, AirbaseTenant],
        clients: TenantClients[AirbaseAccount],
        ledger: Ledger,
        audit: AuditTrail,
    ) -> None:
        self._tenants = tenants
        self._clients = clients
        self._ledger = ledger
        self._audit = audit

    async def __call__(self, record: Record) -> None:
        try:
            if record.schema == MarkAirbaseEntrySynced.SCHEMA:
                await self._mark(MarkAirbaseEntrySynced.from_record(record.value), record)
            elif record.schema == SyncToAirbase.SCHEMA:
                await self._sync(SyncToAirbase.from_record(record.value), record)
            else:
                raise MalformedCommandError(f"the airbase-sink has no handler for "
                                            f"{record.schema!r}")  # fmt: skip
        except ValidationError as exc:
            raise MalformedCommandError(f"not a {record.schema}: {exc}") from exc

    # ---- SyncToAirbase ---------------------------------------------------------------------

    async def _sync(self, command: SyncToAirbase, record: Record) -> None:
        if self._replayed(command.command_id, command.entity_id):
            return
        tenant = self._tenant(command.tenant_id)
        translation = translate(command, tenant)
        if translation.skipped is not None:
            self._audit.record(Stage.SKIPPED, entity_id=command.entity_id,
                               command_id=command.command_id,
                               detail=translation.skipped)  # fmt: skip
            return
        account = self._clients[tenant.tenant_id]
        needed: list[Written] = []
        try:
            async with record.paced():
                for need in translation.needs:
                    made = await self._need(tenant, account, need)
                    needed += [made] if made is not None else []
                written = [await self._upsert(tenant, account, w) for w in translation.writes]
        except OrderNotInAirbase as waiting:
            if record.attempts == 0:  # the wait is audited once, not at every retry
                self._audit.record(Stage.RETRIED, entity_id=command.entity_id,
                                   command_id=command.command_id,
                                   detail=f"{waiting}; retried within the budget")  # fmt: skip
            raise
        await self._audited(command, [n for n in needed if n.action == "created"] + written)
        for made in needed:  # known from now on: no lookup for the next bill of the vendor
            await self._ledger.done(
                need_command_id(tenant.tenant_id, made.write.target),
                tenant=tenant.tenant_id, company=tenant.company_id, target=made.write.target,
                airbase_id=made.airbase_id, entity_type=command.entity_type,
                entity_id=command.entity_id,
            )  # fmt: skip
        single = len(written) == 1
        await self._ledger.done(
            command.command_id, tenant=tenant.tenant_id, company=tenant.company_id,
            target=written[0].write.target if single else written[0].write.resource,
            airbase_id=",".join(w.airbase_id for w in written),
            entity_type=command.entity_type, entity_id=command.entity_id, rule=command.rule,
        )  # fmt: skip

    async def _need(
        self, tenant: AirbaseTenant, account: AirbaseAccount, need: AirbaseWrite
    ) -> Written | None:
        """Makes an object the command needs when Airbase does not have it; None when the
        ledger knows it already (nothing to audit or write)."""
        if self._ledger.object_of(tenant.tenant_id, need.target) is not None:
            return None
        entry = self._ledger.get(need_command_id(tenant.tenant_id, need.target))
        if entry is not None and entry.external_id:
            return None
        found = await self._look_up(tenant, account, need)
        if found is not None:
            return Written(need, found, "found")
        return await self._create(tenant, account, need)

    async def _upsert(
        self, tenant: AirbaseTenant, account: AirbaseAccount, write: AirbaseWrite
    ) -> Written:
        known = self._ledger.object_of(tenant.tenant_id, write.target)
        if known is not None:
            try:
                return await self._update(tenant, account, write, known)
            except AirbaseNotFound:
                log.warning("an object the ledger knew is gone from Airbase: looked up again",
                            extra={"tenant": tenant.tenant_id, "target": write.target,
                                   "airbase_id": known})  # fmt: skip
                self._ledger.forget_object(tenant.tenant_id, write.target)
        found = await self._look_up(tenant, account, write)
        if found is not None:
            return await self._update(tenant, account, write, found)
        if write.create is None:
            raise OrderNotInAirbase(
                f"{write.target} is not in Airbase yet: its own command has to come first"
            )
        return await self._create(tenant, account, write)

    async def _look_up(
        self, tenant: AirbaseTenant, account: AirbaseAccount, write: AirbaseWrite
    ) -> str | None:
        found = await self._calling(
            tenant, account, account.find_by_erp_reference(write.resource, write.erp_reference_id)
        )
        if found is None:
            return None
        FOUND.labels(write.resource).inc()
        log.info("object found by its ERP reference", extra={
            "tenant": tenant.tenant_id, "target": write.target,
            "airbase_id": found.airbase_id})  # fmt: skip
        return found.airbase_id

    async def _update(
        self, tenant: AirbaseTenant, account: AirbaseAccount, write: AirbaseWrite, known: str
    ) -> Written:
        if write.update:
            await self._calling(tenant, account,
                                account.update(write.resource, known, write.update))  # fmt: skip
        return Written(write, known, "updated")

    async def _create(
        self, tenant: AirbaseTenant, account: AirbaseAccount, write: AirbaseWrite
    ) -> Written:
        assert write.create is not None  # callers check: a write without a body is never made
        made = await self._calling(tenant, account, account.create(write.resource, write.create))
        return Written(write, made.airbase_id, "created")

    # ---- MarkAirbaseEntrySynced ------------------------------------------------------------

    async def _mark(self, command: MarkAirbaseEntrySynced, record: Record) -> None:
        if self._replayed(command.command_id, command.entity_id):
            return
        tenant = self._tenant(command.tenant_id)
        account = self._clients[tenant.tenant_id]
        async with record.paced():
            await self._calling(tenant, account, account.mark_synced(
                command.entry_id, command.visma_payment_number))  # fmt: skip
        write = AirbaseWrite("ledger_entries", command.visma_payment_number, None,
                             {"status": "synced"})  # fmt: skip
        await self._audited(command, [Written(write, command.entry_id, "marked synced")])
        await self._ledger.done(
            command.command_id, tenant=tenant.tenant_id, company=command.company_id,
            target=write.target, airbase_id=command.entry_id, entity_type=command.entity_type,
            entity_id=command.entity_id, rule=command.rule,
        )  # fmt: skip

    # ---- shared ----------------------------------------------------------------------------

    def _replayed(self, command_id: str, entity_id: str) -> bool:
        entry = self._ledger.get(command_id)
        if entry is None:
            return False
        self._audit.record(Stage.SKIPPED, entity_id=entity_id, command_id=command_id,
                           external_id=entry.external_id,
                           detail=f"already written ({entry.destination})")  # fmt: skip
        return True

    def _tenant(self, tenant_id: str) -> AirbaseTenant:
        tenant = self._tenants.get(tenant_id)
        if tenant is None or tenant_id not in self._clients:
            raise UnknownTenantError(
                f"tenant {tenant_id} has no Airbase account in the airbase-sink's tenants "
                "file: add it, restart the sink and redrive the DLQ"
            )
        self._clients.check(tenant_id)
        return tenant

    async def _calling(
        self, tenant: AirbaseTenant, account: AirbaseAccount, call: Awaitable[T]
    ) -> T:
        """Awaits a call of the tenant's client; a refused token holds the tenant."""
        try:
            return await call
        except AirbaseCredentialsRefused as error:
            raise self._clients.refused(tenant.tenant_id, used=account, error=str(error)) from error

    async def _audited(
        self, command: SyncToAirbase | MarkAirbaseEntrySynced, written: list[Written]
    ) -> None:
        """Audits each object written and waits until Kafka has the events: before DONE, so
        a crash in between audits the write again rather than never."""
        sent = []
        for item in written:
            WRITTEN.labels(item.write.resource, item.action).inc()
            sent.append(self._audit.record(
                Stage.SENT, entity_id=command.entity_id, event_id=command.source_event_id,
                command_id=command.command_id, external_id=item.airbase_id,
                detail=f"{item.action} Airbase {item.write.target} ({item.airbase_id})",
            ))  # fmt: skip
        deliveries = [d for d in sent if isinstance(d, Future)]
        if deliveries:
            await asyncio.to_thread(confirm, deliveries)
