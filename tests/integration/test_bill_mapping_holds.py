"""The BILL mapping service on the real broker: an unmatched vendor's bills held, then
released once, in BILL's order, when the Visma source shows its supplier; across restarts.

What the unit tests cannot see: the standings written with the commands in one transaction
and read back at start, the suppliers read at start and consumed as they come, the runner
consuming four topics, and `mlc bill unmatched` reading what the service wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from confluent_kafka import Consumer, TopicPartition

from bill_mapping.config import BillMappingConfig, MappingFile
from bill_mapping.inject import MappingTopics, build
from bill_mapping.settings import BillMappingSettings
from bill_mapping.state import decode_standing
from chassis.kafka.producer import EventProducer
from chassis.kafka.state import iter_to_end, read_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events._avro import AvroModel
from events.bill import BillBillChanged, BillLine, BillVendorChanged
from events.visma import ChangeType
from events.visma_reference import Supplier, SupplierChanged
from events.visma_writes import UpsertSupplier, UpsertSupplierInvoice
from mlc.bill_holds import run_link, run_unmatched

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
TENANT, ORG, COMPANY = "nordic-dk", "00801DKAPS", "3000456"
CONFIG = BillMappingConfig(
    MappingFile.model_validate({"tenants": {TENANT: {"organizations": [{
        "organization": ORG, "company": COMPANY, "vendor_policy": "match", "currency": "DKK",
        "accounts": {"gl-rent": "6100"}, "cost_centers": {"dep-cph": "100-20"},
    }]}}})
)  # fmt: skip
T0 = datetime(2026, 12, 3, 8, tzinfo=UTC)


class Rig:
    def __init__(self, kafka_bootstrap: str, unique: str) -> None:
        self.kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
        self.prefix = f"billmap-{unique}."
        self.settings = BillMappingSettings(
            group_id=f"billmap-{unique}", topic_prefix=self.prefix,
            transactional_id=f"billmap-{unique}-decisions",
        )  # fmt: skip
        self.topics = MappingTopics.of(self.settings)
        self.producer = EventProducer(self.kafka, "billmap-rig")

    def send(self, topic: str, model: AvroModel, key: str) -> None:
        self.producer.send(topic, key=key, value=SERDE.encode(model.SCHEMA, model.to_record()))
        self.producer.flush(60)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        app = await asyncio.to_thread(build, self.kafka, self.settings, CONFIG)
        running = asyncio.create_task(app.run())
        try:
            yield
        finally:
            app.stop()
            await asyncio.wait_for(running, 60)

    def commands(self) -> list[UpsertSupplier | UpsertSupplierInvoice]:
        found: list[UpsertSupplier | UpsertSupplierInvoice] = []
        for _, value in iter_to_end(self.kafka, self.topics.commands.name, client="billmap-read"):
            schema, record = SERDE.decode(value)
            model = UpsertSupplier if schema == UpsertSupplier.SCHEMA else UpsertSupplierInvoice
            found.append(model.from_record(record))
        return found

    def held(self) -> list[str]:
        values = read_to_end(self.kafka, self.topics.standings.name, client="billmap-state")
        return [h.bill.bill_id for v in values.values() for h in decode_standing(SERDE, v).held]

    def read_all_of(self, topic: str) -> bool:
        """The service's group committed every record of `topic` (handled all of it)."""
        config = self.kafka.client_config("billmap-offsets") | {"group.id": self.settings.group_id}
        consumer = Consumer(config)
        try:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            wanted = [TopicPartition(topic, p) for p in partitions]
            committed = consumer.committed(wanted, timeout=10)
            ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in wanted]
            pairs = zip(committed, ends, strict=True)
            return all(end == 0 or c.offset >= end for c, end in pairs)  # fresh topic: low 0
        finally:
            consumer.close()

    async def until(self, what: str, done: Callable[[], bool], *, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while not await asyncio.to_thread(done):
            assert time.monotonic() < deadline, f"{what} did not happen within {within}s"
            await asyncio.sleep(0.2)


def vendor() -> BillVendorChanged:
    return BillVendorChanged(
        tenant_id=TENANT, organization_id=ORG, vendor_id="00901V1", change="created",
        updated_time=T0, source="webhook", name="Kontorhuset ApS", tax_id="DK 1234 5678",
        received_at=T0,
    )  # fmt: skip


def bill(bill_id: str, minutes: int) -> BillBillChanged:
    return BillBillChanged(
        tenant_id=TENANT, organization_id=ORG, bill_id=bill_id, vendor_id="00901V1",
        change="created", updated_time=T0 + timedelta(minutes=minutes), source="poll",
        invoice_number=f"INV-{bill_id}", invoice_date=date(2026, 12, 1),
        amount=Decimal("250.00"), received_at=T0,
        lines=[BillLine(amount=Decimal("250.00"), chart_of_account_id="gl-rent",
                        department_id="dep-cph")],
    )  # fmt: skip


def supplier(number: str) -> SupplierChanged:
    return SupplierChanged(
        event_id=f"ev-{number}", tenant_id=TENANT, company_id=COMPANY, entity_id=number,
        change_type=ChangeType.CREATED, last_modified=T0, observed_at=T0,
        supplier=Supplier(number=number, name="Kontorhuset ApS", corporate_id="12345678"),
    )  # fmt: skip


def invoices(rig: Rig) -> list[str]:
    return [c.source_id for c in rig.commands() if isinstance(c, UpsertSupplierInvoice)]


def test_an_unmatched_vendors_bills_are_held_then_released_once_in_order_across_restarts(
    kafka_bootstrap: str, unique: str
) -> None:
    asyncio.run(scenario(Rig(kafka_bootstrap, unique)))


async def scenario(rig: Rig) -> None:
    t = rig.topics
    async with rig.running():
        rig.send(t.vendors.name, vendor(), vendor().key)
        for number, minutes in (("B3", 3), ("B1", 1), ("B2", 2)):  # partitions may reorder
            rig.send(t.bills.name, bill(number, minutes), bill(number, minutes).key)
        await rig.until("three bills held", lambda: sorted(rig.held()) == ["B1", "B2", "B3"])
    assert rig.commands() == []
    assert rig.held() == ["B1", "B2", "B3"]  # in BILL's order

    listing = io.StringIO()
    args = argparse.Namespace(tenant=None, topic_prefix=rig.prefix)
    assert await asyncio.to_thread(run_unmatched, args, out=listing) == 0
    text = listing.getvalue()
    assert "no Visma supplier" in text
    assert "organisation number DK 1234 5678: no supplier of company 3000456" in text
    assert text.count("matches no Visma supplier") == 3
    assert text.endswith("1 vendor(s) held, 3 bill(s) held\n")

    # A restart: the holds were read back from the standings, nothing emitted at start.
    async with rig.running():
        rig.send(t.suppliers.name, supplier("70012"), supplier("70012").key)  # made by hand
        await rig.until("the release", lambda: len(invoices(rig)) == 3)
    commands = rig.commands()
    assert isinstance(commands[0], UpsertSupplier)
    assert commands[0].supplier_number == "70012"
    assert invoices(rig) == ["B1", "B2", "B3"]
    assert all(c.supplier_number == "70012" for c in commands)
    assert len({c.key for c in commands}) == 1  # one vendor key: the writer keeps the order
    assert rig.held() == []

    # Another restart and the supplier's fact again (a replay): nothing is released twice;
    # a fourth bill of the vendor goes straight through.
    async with rig.running():
        rig.send(t.suppliers.name, supplier("70012"), supplier("70012").key)
        rig.send(t.bills.name, bill("B4", 4), bill("B4", 4).key)
        await rig.until("the fourth bill", lambda: "B4" in invoices(rig))
        await rig.until("the replay handled", lambda: rig.read_all_of(t.suppliers.name))
    assert invoices(rig) == ["B1", "B2", "B3", "B4"]
    assert len({c.command_id for c in rig.commands()}) == len(rig.commands()) == 5


def test_mlc_bill_link_releases_the_held_bills_once(kafka_bootstrap: str, unique: str) -> None:
    asyncio.run(link_scenario(Rig(kafka_bootstrap, unique)))


async def link_scenario(rig: Rig) -> None:
    t = rig.topics
    async with rig.running():
        rig.send(t.vendors.name, vendor(), vendor().key)
        for number, minutes in (("B2", 2), ("B1", 1)):
            rig.send(t.bills.name, bill(number, minutes), bill(number, minutes).key)
        await rig.until("two bills held", lambda: sorted(rig.held()) == ["B1", "B2"])

        out = io.StringIO()
        args = argparse.Namespace(
            vendor_id="00901V1", supplier_number="70099", tenant=None, org=None,
            topic_prefix=rig.prefix,
        )  # fmt: skip
        assert await asyncio.to_thread(run_link, args, out=out) == 0
        assert out.getvalue() == f"linked vendor 00901V1 ({TENANT}/{ORG}) to supplier 70099\n"
        await rig.until("the release", lambda: len(invoices(rig)) == 2)
        await rig.until("the link handled", lambda: rig.read_all_of(t.links.name))
    assert invoices(rig) == ["B1", "B2"]
    assert {c.supplier_number for c in rig.commands()} == {"70099"}
    assert len(rig.commands()) == 3  # the supplier and the two bills, once
    assert rig.held() == []

    refused = argparse.Namespace(
        vendor_id="00901NOPE", supplier_number="1", tenant=None, org=None, topic_prefix=rig.prefix
    )
    assert await asyncio.to_thread(run_link, refused, out=io.StringIO()) == 1
