"""The Airbase side of the delivery ledger: one entry per command, and which Airbase object
holds each ERP reference of a tenant.

    (none) ──▶ DONE (external_id: the airbase_id written, destination: resource/ERP reference)

Nothing is written before the calls: every create is preceded by a lookup by ERP reference
in Airbase (the upsert's own rule), so after a crash between Airbase's 201 and DONE the
redelivered command finds the object instead of making a second one. DONE is what makes a
replay call nothing. A tenant's commands share one key, hence one partition, so the DONE
entries of the assigned partitions also index the tenant's objects by ERP reference: a later
version of a record PATCHes its object without a lookup. The vendor a bill needs gets an
entry of its own (`vendor_command_id`), so it is made once however many bills name it. The
index is rebuilt from the chassis ledger whenever entries leave memory (expiry, revoke); an
expired entry's object is found again by the lookup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime

from chassis.kafka.expiry import Expiry
from chassis.kafka.ledger import CommandLedger
from chassis.kafka.producer import EventProducer
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from events.deliveries import DeliveryStatus, SinkDelivery

SINK = "airbase-sink"

TenantObject = tuple[str, str, str]
"""(tenant, resource, ERP reference): one Airbase object of one tenant."""


def need_command_id(tenant: str, target: str) -> str:
    """The ledger id of an object a command needs to exist first (a bill's vendor): the same
    for every command that needs it, so it is made once."""
    return hashlib.sha256(f"airbase-need|{tenant}|{target}".encode()).hexdigest()


class Ledger:
    def __init__(
        self,
        *,
        topic: str,
        producer: EventProducer,
        serde: AvroSerde,
        client: str = f"{SINK}-ledger",
        expiry: Expiry | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock = clock
        self._commands = CommandLedger(
            SinkDelivery, topic=topic, producer=producer, serde=serde, client=client,
            expiry=expiry, clock=clock, on_removed=self._relearn,
        )  # fmt: skip
        self._objects: dict[TenantObject, str] = {}

    def load(self, settings: KafkaSettings, partitions: Collection[int]) -> int:
        """Reads the entries of the assigned partitions; returns how many are live."""
        known = self._commands.load(settings, partitions)
        self._relearn()
        return known

    def forget(self, partitions: Collection[int]) -> None:
        self._commands.forget(partitions)

    def get(self, command_id: str) -> SinkDelivery | None:
        return self._commands.get(command_id)

    def object_of(self, tenant: str, target: str) -> str | None:
        """The airbase_id the ledger knows holds `target` (resource/ERP reference)."""
        resource, _, reference = target.partition("/")
        return self._objects.get((tenant, resource, reference))

    def forget_object(self, tenant: str, target: str) -> None:
        """Airbase no longer has the object (someone deleted it): look it up next time."""
        resource, _, reference = target.partition("/")
        self._objects.pop((tenant, resource, reference), None)

    async def done(
        self,
        command_id: str,
        *,
        tenant: str,
        company: str | None,
        target: str,
        airbase_id: str,
        entity_type: str | None = None,
        entity_id: str | None = None,
        rule: str | None = None,
    ) -> SinkDelivery:
        """The command's objects are written; `target` (resource/ERP reference) is
        `airbase_id`, or `target` is a bare resource when the command wrote several."""
        entry = SinkDelivery(
            command_id=command_id, sink=SINK, status=DeliveryStatus.DONE, destination=target,
            external_id=airbase_id, at=self._clock(), tenant_id=tenant, company_id=company,
            entity_type=entity_type, entity_id=entity_id, rule=rule,
        )  # fmt: skip
        await self._commands.write(entry)
        self._learn([entry])
        return entry

    def _relearn(self) -> None:
        """The index from scratch, oldest entry first: a reference's newest object wins."""
        self._objects.clear()
        self._learn(sorted(self._commands.entries(), key=lambda entry: entry.at))

    def _learn(self, entries: Iterable[SinkDelivery]) -> None:
        for entry in entries:
            resource, slash, reference = entry.destination.partition("/")
            if (
                entry.status is DeliveryStatus.DONE
                and slash
                and entry.tenant_id
                and entry.external_id
            ):
                self._objects[(entry.tenant_id, resource, reference)] = entry.external_id
