"""SyncToAirbase is keyed by tenant: one Airbase account's writes apply in order, so the
vendor a supplier fact makes goes before the bill of that supplier's invoice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from events.commands import SyncToAirbase

pytestmark = pytest.mark.unit


def sync(entity_type: str, entity_id: str) -> SyncToAirbase:
    return SyncToAirbase(
        command_id=f"cmd-{entity_id}", tenant_id="tenant-se-1", rule="to-airbase",
        source_event_id=f"evt-{entity_id}", entity_type=entity_type,
        entity_id=f"tenant-se-1/1234567/{entity_type}/{entity_id}",
        created_at=datetime(2026, 3, 1, tzinfo=UTC), note="", payload_json="{}",
    )  # fmt: skip


def test_every_sync_of_a_tenant_shares_its_key() -> None:
    supplier = sync("supplier", "50001")
    invoice = sync("supplierInvoice", "Invoice:10042")
    assert supplier.key == invoice.key == "tenant-se-1"
