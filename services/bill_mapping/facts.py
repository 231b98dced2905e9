"""Inbound adapter: the runner's records as facts for the desk, and the Visma suppliers at start.

A record of a schema the mapping does not read is a permanent error (to the DLQ): the
topics it consumes carry nothing else.
"""

from __future__ import annotations

from pydantic import ValidationError

from bill_mapping.desk import Fact, MappingDesk
from bill_mapping.matching import KnownSupplier, SupplierDirectory
from chassis.errors import PermanentError
from chassis.kafka.record import Record
from chassis.kafka.state import read_to_end
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from events.bill import BillBillChanged, BillVendorChanged
from events.bill_holds import BillVendorLinked
from events.visma import ChangeType
from events.visma_reference import SupplierChanged

FACTS: dict[str, type[Fact]] = {
    model.SCHEMA: model
    for model in (BillVendorChanged, BillBillChanged, SupplierChanged, BillVendorLinked)
}


def fact_of(schema: str, value: dict[str, object]) -> Fact:
    model = FACTS.get(schema)
    if model is None:
        raise PermanentError(f"the BILL mapping reads no {schema or 'unnamed'} records")
    try:
        return model.from_record(value)
    except ValidationError as exc:
        raise PermanentError(f"not a valid {schema}: {exc.error_count()} errors") from exc


class FactHandler:
    def __init__(self, desk: MappingDesk) -> None:
        self._desk = desk

    async def __call__(self, record: Record) -> None:
        await self._desk.handle(fact_of(record.schema, record.value))


def load_suppliers(
    settings: KafkaSettings, serde: AvroSerde, topic: str, *, client: str
) -> SupplierDirectory:
    """Every Visma supplier the Visma source has published (its topic is compacted)."""
    directory = SupplierDirectory()
    for raw in read_to_end(settings, topic, client=client).values():
        _, value = serde.decode(raw)
        fact = SupplierChanged.from_record(value)
        if fact.change_type is ChangeType.DELETED:
            continue
        supplier = fact.supplier
        directory.learn(
            tenant_id=fact.tenant_id,
            company_id=fact.company_id,
            supplier=KnownSupplier(
                supplier.number, supplier.corporate_id, supplier.vat_registration_id
            ),
        )
    return directory
