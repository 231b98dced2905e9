"""The writer's record of which Visma supplier mirrors which source vendor.

A bill names its vendor, not a supplier: the writer resolves the supplier from what it wrote
for the vendor. The record is an entry in the writer's own ledger under a synthetic id
(`supplier-of:<vendor key>`), written while a command of that vendor is handled, so it lands
in the ledger partition of the vendor's commands (one key: `events.visma_writes.vendor_key`)
and is loaded with them. It is written after every supplier write, including a repeat that
found the supplier already written, so a crash between DONE and the record heals itself.
Ledger entries expire (the ledger's horizon), so a record in use is written again once it
is older than `refresh_after`, by a supplier write or by a bill that used it: a vendor
whose bills keep coming never loses its supplier.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from events.deliveries import DeliveryStatus, SinkDelivery
from events.visma_writes import UpsertSupplier, UpsertSupplierInvoice
from visma_writer.ledger import SINK, Ledger


def record_id(command: UpsertSupplier | UpsertSupplierInvoice) -> str:
    return f"supplier-of:{command.key}"


class VendorSuppliers:
    def __init__(
        self,
        ledger: Ledger,
        *,
        refresh_after: timedelta = timedelta(days=7),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._refresh_after = refresh_after
        self._clock = clock

    def supplier_of(self, command: UpsertSupplier | UpsertSupplierInvoice) -> str | None:
        entry = self._ledger.get(record_id(command))
        return entry.external_id if entry is not None else None

    async def remember(self, command: UpsertSupplier | UpsertSupplierInvoice, number: str) -> None:
        """Records `number` as the vendor's supplier, unless a recent record says so."""
        entry = self._ledger.get(record_id(command))
        fresh = entry is not None and self._clock() - entry.at < self._refresh_after
        if fresh and entry is not None and entry.external_id == number:
            return
        entry = SinkDelivery(
            command_id=record_id(command),
            sink=SINK,
            status=DeliveryStatus.DONE,
            destination=command.company_id,
            external_id=number,
            at=self._clock(),
            tenant_id=command.tenant_id,
            company_id=command.company_id,
            entity_type="supplier",
            entity_id=command.key,
            rule=command.rule,
        )
        await self._ledger.write(entry)
