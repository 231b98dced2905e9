"""In-memory stand-ins for the airbase-sink's unit tests: an Airbase account that keeps its
objects by collection and counts creates per ERP reference, a producer that confirms at
once, an audit trail in memory, and command records."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from airbase_client import AirbaseCredentialsRefused, AirbaseNotFound
from airbase_sink.delivery import AirbaseWrites
from airbase_sink.inject import ALERTS, INVALID
from airbase_sink.ledger import Ledger
from airbase_sink.ports import AirbaseAccount
from airbase_sink.tenants import AirbaseTenant
from chassis.kafka.handling import handling
from chassis.kafka.producer import Delivery
from chassis.kafka.record import Record
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.tenant_clients import TenantClients
from chassis.tokens import HolderTokens
from events.commands import MarkAirbaseEntrySynced, SyncToAirbase
from events.deliveries import SinkDelivery

SERDE = AvroSerde(SchemaCatalog.load())
TOPIC = "sink.airbase.v1"
TENANT, COMPANY = "tenant-se-1", "1234567"


class Producer:
    """What the ledger needs of an EventProducer: confirmed at once, kept in memory;
    `fail_next` makes the next write fail as a dying process's would."""

    def __init__(self) -> None:
        self.sent: list[SinkDelivery] = []
        self.fail_next = False

    def send(self, topic: str, *, key: str, value: bytes | None, partition: int) -> Delivery:
        assert value is not None, "nothing expires in these tests"
        delivered: Delivery = Future()
        if self.fail_next:
            self.fail_next = False
            delivered.set_exception(RuntimeError("the process died before Kafka confirmed"))
            return delivered
        self.sent.append(SinkDelivery.from_record(SERDE.decode(value)[1]))
        delivered.set_result(None)
        return delivered


class Audit:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def record(self, stage: Any, *, entity_id: str, **fields: str | None) -> Delivery:
        self.events.append({"stage": str(stage), "entity_id": entity_id, **fields})
        delivered: Delivery = Future()
        delivered.set_result(None)
        return delivered

    def stages(self) -> list[str]:
        return [e["stage"] for e in self.events]


@dataclass(frozen=True)
class Found:
    airbase_id: str


class Airbase:
    """One tenant's Airbase account in memory, answering as the sink's port says."""

    def __init__(self, token: str = "token-1", *, refused: set[str] | None = None) -> None:
        self.token = token
        self.refused = refused if refused is not None else set()
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.creates: dict[tuple[str, str], int] = {}
        self.calls: list[str] = []
        self.marked: dict[str, str] = {}
        self._ids = itertools.count(1)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.token in self.refused:
            raise AirbaseCredentialsRefused("Invalid token.", status=401)

    def of(self, resource: str) -> dict[str, dict[str, Any]]:
        return self.objects.setdefault(resource, {})

    def by_reference(self, resource: str, reference: str) -> dict[str, Any]:
        (found,) = [o for o in self.of(resource).values() if o["erp_reference_id"] == reference]
        return found

    async def find_by_erp_reference(self, resource: str, erp_reference_id: str) -> Found | None:
        self._call(f"find {resource}")
        for airbase_id, body in self.of(resource).items():
            if body["erp_reference_id"] == erp_reference_id:
                return Found(airbase_id)
        return None

    async def create(self, resource: str, body: Mapping[str, Any]) -> Found:
        self._call(f"create {resource}")
        if resource == "bills":
            vendor = body["vendor"]["erp_reference_id"]
            assert any(v["erp_reference_id"] == vendor for v in self.of("vendors").values()), (
                f"400: vendor {vendor} does not exist"
            )
        airbase_id = f"ab-{next(self._ids)}"
        self.of(resource)[airbase_id] = json.loads(json.dumps(dict(body)))
        key = (resource, body["erp_reference_id"])
        self.creates[key] = self.creates.get(key, 0) + 1
        return Found(airbase_id)

    async def update(self, resource: str, airbase_id: str, changes: Mapping[str, Any]) -> Found:
        self._call(f"update {resource}")
        if airbase_id not in self.of(resource):
            raise AirbaseNotFound("Not found.", status=404)
        self.of(resource)[airbase_id].update(json.loads(json.dumps(dict(changes))))
        return Found(airbase_id)

    async def mark_synced(self, entry_id: str, erp_reference_id: str) -> Found:
        self._call("mark_synced")
        self.marked[entry_id] = erp_reference_id
        return Found(entry_id)


def tenant(**changes: Any) -> AirbaseTenant:
    return AirbaseTenant(tenant_id=TENANT, company_id=COMPANY, api_base="http://airbase.test",
                         credential="airbase/tenant-se-1", **changes)  # fmt: skip


class Sink:
    """The sink's handler over an in-memory account, ledger and audit trail."""

    def __init__(
        self,
        airbase: Airbase | None = None,
        *,
        producer: Producer | None = None,
        account: AirbaseTenant | None = None,
        client: AirbaseAccount | None = None,
        clients: TenantClients[AirbaseAccount] | None = None,
    ) -> None:
        """`client`: a real client to call instead of the in-memory account; `clients`: the
        tenants' clients as the sink holds them (tokens from a vault)."""
        self.airbase = airbase or Airbase()
        self.producer = producer or Producer()
        self.audit = Audit()
        self.ledger = Ledger(topic="state.airbase-ledger.v1", producer=self.producer,  # type: ignore[arg-type]
                             serde=SERDE)  # fmt: skip
        self.tenant = account or tenant()
        self.clients: TenantClients[AirbaseAccount] = clients or TenantClients(
            system="Airbase",
            tokens=HolderTokens(tokens={TENANT: SecretStr(self.airbase.token)}, vault_names={}),
            client_for=lambda _, token: client or self.airbase, tenants=[TENANT],
            invalid=INVALID, alerts=ALERTS,
        )  # fmt: skip
        self.writes = AirbaseWrites(
            tenants={TENANT: self.tenant}, clients=self.clients, ledger=self.ledger,
            audit=self.audit,  # type: ignore[arg-type]
        )  # fmt: skip

    async def handle(self, command: SyncToAirbase | MarkAirbaseEntrySynced) -> None:
        rec = record(command)
        with handling([rec]):
            await self.writes(rec)

    def restarted(self) -> Sink:
        """A new sink process: its ledger read back from what this one wrote."""
        again = Sink(self.airbase, producer=Producer(), account=self.tenant)
        for entry in self.producer.sent:
            again.ledger._commands._partitions.setdefault(0, {})[entry.command_id] = entry
        again.ledger._relearn()
        return again


_offsets = itertools.count()


def record(command: SyncToAirbase | MarkAirbaseEntrySynced) -> Record:
    value = SERDE.encode(command.SCHEMA, command.to_record())
    return Record(
        topic=TOPIC, partition=0, offset=next(_offsets), key=command.key, raw=value, headers=[],
        schema=command.SCHEMA, value=SERDE.decode(value)[1],
    )  # fmt: skip


def sync(entity_type: str, entity_id: str, payload: dict[str, Any], *, version: int = 1
         ) -> SyncToAirbase:  # fmt: skip
    return SyncToAirbase(
        command_id=f"cmd-{entity_type}-{entity_id}-{version}", tenant_id=TENANT,
        rule="to-airbase", source_event_id=f"evt-{entity_id}-{version}",
        entity_type=entity_type, entity_id=f"{TENANT}/{COMPANY}/{entity_type}/{entity_id}",
        created_at=datetime(2026, 3, 1, tzinfo=UTC), note="",
        payload_json=json.dumps(payload),
    )  # fmt: skip


def supplier(number: str, name: str = "Acme AB", *, version: int = 1) -> SyncToAirbase:
    return sync("supplier", number, {"number": number, "name": name, "status": "Active",
                                     "email": "ap@acme.example"}, version=version)  # fmt: skip


def invoice(
    ref: str, supplier_number: str = "50001", *, amount: str = "1250.50", version: int = 1,
    lines: list[dict[str, Any]] | None = None, document_type: str = "Invoice",
) -> SyncToAirbase:  # fmt: skip
    payload = {
        "document_type": document_type, "reference_number": ref, "status": "Open",
        "supplier_number": supplier_number, "supplier_name": f"Supplier {supplier_number}",
        "invoice_date": "2026-02-27", "due_date": "2026-03-29", "currency": "SEK",
        "amount": amount, "supplier_reference": f"INV-{ref}",
        "lines": lines if lines is not None else [
            {"line_number": 1, "description": "Chairs", "amount": "1000.50",
             "account_number": "5410", "subaccount": "CC100"},
            {"line_number": 2, "description": "Freight", "amount": "250", "account_number":
             "5710", "subaccount": None},
        ],
    }  # fmt: skip
    return sync("supplierInvoice", f"{document_type}:{ref}", payload, version=version)


def mark(entry_id: str, payment: str, *, command_id: str = "mark-1") -> MarkAirbaseEntrySynced:
    return MarkAirbaseEntrySynced(
        command_id=command_id, tenant_id=TENANT, rule="airbase-payments",
        source_event_id=f"evt-{entry_id}", entity_type="supplierPayment",
        entity_id=f"{TENANT}/{COMPANY}/supplierPayment/{payment}",
        created_at=datetime(2026, 3, 1, tzinfo=UTC), entry_id=entry_id,
        visma_payment_number=payment, company_id=COMPANY,
    )  # fmt: skip
