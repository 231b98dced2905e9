"""The writer's record of a vendor's supplier: written once, rewritten only when it changes
or ages, so a vendor whose bills keep coming never loses its supplier to ledger expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from receipts_kit import START
from supplier_writes_kit import bill_command, vendor_command
from writer_harness import MemoryLedger

from visma_writer.vendor_suppliers import VendorSuppliers, record_id

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_record_is_written_once_then_only_when_it_changes_or_ages() -> None:
    ledger, now = MemoryLedger(), [START]
    vendors = VendorSuppliers(ledger, refresh_after=timedelta(days=7), clock=lambda: now[0])

    await vendors.remember(vendor_command(), "10042")
    await vendors.remember(bill_command(), "10042")  # the bill's vendor: same record
    now[0] += timedelta(days=6)
    await vendors.remember(bill_command(), "10042")
    assert len(ledger.writes) == 1
    now[0] += timedelta(days=2)
    await vendors.remember(bill_command(), "10042")  # 8 days old: written again
    await vendors.remember(vendor_command(), "10077")  # another supplier: written at once

    assert [(e.external_id, e.at - START) for e in ledger.writes] == [
        ("10042", timedelta(0)), ("10042", timedelta(days=8)), ("10077", timedelta(days=8))
    ]  # fmt: skip
    assert vendors.supplier_of(bill_command()) == "10077"
    assert ledger.writes[0].command_id == record_id(bill_command()) == record_id(vendor_command())
    assert ledger.writes[0].entity_id == vendor_command().key
