"""The mapping file taken up while the service runs: a fixed file releases the held payment
once; a file with a mistake keeps the one in force; a release whose transaction failed is
written at the next look."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.unit.airbase_payments.payment_samples import TENANT, line, payment
from tests.unit.chassis.transactions_fake import FakeTransactions

from airbase_payments.config import load_config
from airbase_payments.desk import PaymentsDesk
from airbase_payments.holds import PaymentHolds
from airbase_payments.reload import MappingReload
from chassis.audit import AuditTrail
from chassis.kafka.decisions import DecisionTopics
from chassis.serde import AvroSerde, SchemaCatalog

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())
FILE = """\
tenants:
  tenant-se-1:
    company: "1234567"
    accounts: {{"4010": "4010", "6110": "6110"}}
    cost_centers: {{"CC-200": "200"{extra}}}
"""
ON_CC_300 = [line(1, "1000.00", "4010", "CC-300"), line(2, "250.00", "6110", None)]


def rig(path: Path) -> tuple[MappingReload, PaymentsDesk, PaymentHolds, FakeTransactions]:
    holds, transactions = PaymentHolds(load_config(path)), FakeTransactions()
    desk = PaymentsDesk(
        holds=holds, transactions=transactions, serde=SERDE,
        topics=DecisionTopics(commands="commands", state="standings"),
        audit=AuditTrail(service="test", serde=SERDE, publish=lambda key, value: None),
    )  # fmt: skip
    return MappingReload(path, desk, every_seconds=30), desk, holds, transactions


def test_a_fixed_file_releases_the_held_payment_once_while_running(tmp_path: Path) -> None:
    async def scenario() -> None:
        path = tmp_path / "airbase-payments.yaml"
        path.write_text(FILE.format(extra=""))
        reload, desk, holds, transactions = rig(path)
        await desk.handle(payment(lines=ON_CC_300))
        assert await reload.check() is False  # the file as read at start: nothing to do
        assert transactions.on("commands") == []

        path.write_text(FILE.format(extra=', "CC-300": "300"'))
        assert await reload.check() is True
        assert transactions.on("commands") == [f"{TENANT}/1234567/supplierInvoice/000123"]
        standing = holds.get(TENANT, "le-1")
        assert standing is not None
        assert standing.held is None
        assert await reload.check() is False  # once
        await desk.handle(payment(lines=ON_CC_300))  # read again
        assert len(transactions.on("commands")) == 1

    asyncio.run(scenario())


def test_a_file_with_a_mistake_keeps_the_one_in_force(tmp_path: Path) -> None:
    async def scenario() -> None:
        path = tmp_path / "airbase-payments.yaml"
        path.write_text(FILE.format(extra=""))
        reload, desk, _, transactions = rig(path)
        path.write_text(FILE.format(extra=', "CC-300": "300"').replace("accounts", "acounts"))
        assert await reload.check() is False
        await desk.handle(payment("le-2", lines=ON_CC_300))  # still held: the old file holds
        assert transactions.on("commands") == []
        await desk.handle(payment("le-3"))  # and still maps what it mapped
        assert len(transactions.on("commands")) == 1

    asyncio.run(scenario())


def test_a_release_not_written_is_tried_again_at_the_next_look(tmp_path: Path) -> None:
    async def scenario() -> None:
        path = tmp_path / "airbase-payments.yaml"
        path.write_text(FILE.format(extra=""))
        reload, desk, _, transactions = rig(path)
        await desk.handle(payment(lines=ON_CC_300))
        await reload.check()
        path.write_text(FILE.format(extra=', "CC-300": "300"'))
        transactions.refuse = True  # the release's transaction aborts
        assert await reload.check() is False
        assert transactions.on("commands") == []
        assert await reload.check() is True  # the file did not change again: tried anyway
        assert len(transactions.on("commands")) == 1

    asyncio.run(scenario())
