"""The mapping desk without Kafka: a decision is kept only once its transaction committed,
and holds are audited with their reason."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from tests.unit.chassis.transactions_fake import FakeTransactions

from bill_mapping.config import BillMappingConfig, MappingFile
from bill_mapping.desk import DeskTopics, MappingDesk
from bill_mapping.matching import SupplierDirectory
from bill_mapping.standing import Standings
from bill_mapping.state import decode_standing, encode_standing
from chassis.audit import AuditTrail
from chassis.errors import RetryableError
from chassis.serde import AvroSerde, SchemaCatalog
from events.bill import BillBillChanged, BillLine, BillVendorChanged
from events.visma import ChangeType
from events.visma_reference import Supplier, SupplierChanged

SERDE = AvroSerde(SchemaCatalog.load())
T0 = datetime(2026, 12, 3, 8, tzinfo=UTC)
CONFIG = BillMappingConfig(
    MappingFile.model_validate({"tenants": {"dk": {"organizations": [{
        "organization": "008A", "company": "C1", "vendor_policy": "match", "currency": "DKK",
        "accounts": {"gl": "6100"},
    }]}}})
)  # fmt: skip


def desk() -> tuple[MappingDesk, FakeTransactions, list[dict[str, object]]]:
    transactions, audited = FakeTransactions(), []

    def publish(key: str, value: bytes) -> None:
        audited.append(SERDE.decode(value)[1])

    return (
        MappingDesk(
            standings=Standings(CONFIG, SupplierDirectory()),
            transactions=transactions,
            serde=SERDE,
            topics=DeskTopics(commands="commands", standings="standings"),
            audit=AuditTrail(service="test", serde=SERDE, publish=publish),
            encode_standing=encode_standing,
        ),
        transactions,
        audited,
    )


VENDOR = BillVendorChanged(
    tenant_id="dk", organization_id="008A", vendor_id="V1", change="created", updated_time=T0,
    source="poll", name="Kontorhuset ApS", tax_id="12345678", received_at=T0,
)  # fmt: skip
BILL = BillBillChanged(
    tenant_id="dk", organization_id="008A", bill_id="B1", vendor_id="V1", change="created",
    updated_time=T0, source="poll", invoice_number="INV-1", invoice_date=date(2026, 12, 1),
    amount=Decimal("10"), received_at=T0,
    lines=[BillLine(amount=Decimal("10"), chart_of_account_id="gl")],
)  # fmt: skip
SUPPLIER = SupplierChanged(
    event_id="e1", tenant_id="dk", company_id="C1", entity_id="70012",
    change_type=ChangeType.CREATED, last_modified=T0, observed_at=T0,
    supplier=Supplier(number="70012", corporate_id="12345678"),
)  # fmt: skip


def test_holds_are_audited_and_a_release_not_committed_is_decided_again() -> None:
    async def scenario() -> None:
        mapping, transactions, audited = desk()
        await mapping.handle(VENDOR)
        await mapping.handle(BILL)
        held = [a for a in audited if a["stage"] == "held"]
        assert [a["entity_id"] for a in held] == ["dk/008A/V1", "dk/008A/V1"]
        assert "matches no Visma supplier: no link; organisation number 12345678" in str(
            held[0]["detail"]
        )
        assert transactions.on("commands") == []

        transactions.refuse = True  # the release's transaction aborts: nothing is kept
        with pytest.raises(RetryableError):
            await mapping.handle(SUPPLIER)
        await mapping.handle(SUPPLIER)  # the runner's retry
        assert len(transactions.on("commands")) == 2  # the supplier and the bill, once
        last_standing = [v for t, _, v in transactions.committed[-1] if t == "standings"][-1]
        assert decode_standing(SERDE, last_standing).held == ()
        await mapping.handle(SUPPLIER)  # a replay
        assert len(transactions.on("commands")) == 2

    asyncio.run(scenario())


def test_a_supplier_deleted_in_visma_releases_nothing() -> None:
    async def scenario() -> None:
        mapping, transactions, _ = desk()
        await mapping.handle(VENDOR)
        await mapping.handle(BILL)
        await mapping.handle(SUPPLIER.model_copy(update={"change_type": ChangeType.DELETED}))
        assert transactions.on("commands") == []

    asyncio.run(scenario())
