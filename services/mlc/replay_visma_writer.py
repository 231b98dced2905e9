"""The Visma writer's replay adapter: its group and topics, its ledger's meaning, and a lookup
of each command in Visma by the writer's own rules.

A document write (purchase receipt, supplier, supplier invoice, supplier payment) is looked up
by its kind's own `find`, the lookup the `DocumentWriter` makes before any create: the
receipt carrying the command's mark on its order, the supplier by corporate id, VAT id or the
vendor's mark, the supplier invoice by the supplier and its reference, the payment by its
reference and the entry's version. An invoice action is looked up by reading the invoice and
asking whether the action is in effect on it (`effects.py`); `reverse`, `writeoff` and
`correct` leave no mark that tells whether they were applied, so they cannot be searched.
A found command is recorded DONE (the document's number; for an action, the invoice's ETag)
as the writer records it, so the writer skips it.

The supplier and supplier-invoice lookups read the writer's record of which supplier mirrors
a vendor (`vendor_suppliers.py`, entries of the same ledger), so the adapter loads the
ledger partition of the command first; the kinds refresh that record as the writer does.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx

from chassis.kafka.expiry import Expiry
from chassis.kafka.handling import handling
from chassis.kafka.ledger import CommandLedger
from chassis.kafka.record import Record
from chassis.settings import ServiceSettings
from chassis.vault import vault_from_environment
from events.command_topics import SINK_VISMA_WRITER
from events.commands import ApplyVismaAction
from events.deliveries import DeliveryStatus, SinkDelivery
from events.topics import STATE_VISMA_WRITER_LEDGER
from events.visma_writes import (
    RecordPurchaseReceipt,
    RecordSupplierPayment,
    UpsertSupplier,
    UpsertSupplierInvoice,
)
from mlc.replay_contract import (
    CommandLedgerTopic,
    LedgerState,
    ReplayCommand,
    ReplayContext,
    delivery_state,
    prefixed,
)
from visma_writer.config import load_config
from visma_writer.credentials import ClientSettings, CompanyClients
from visma_writer.documents import DocumentKind
from visma_writer.effects import in_effect_check
from visma_writer.inject import SERVICE
from visma_writer.ledger import ledger_entry
from visma_writer.main import options_from
from visma_writer.receipts import PurchaseReceiptKind
from visma_writer.supplier_invoices import SupplierInvoiceKind
from visma_writer.supplier_payments import SupplierPaymentKind
from visma_writer.suppliers import SupplierKind
from visma_writer.vendor_suppliers import VendorSuppliers
from visma_writer.writer import visma_id

DOCUMENTS: dict[str, type[Any]] = {
    RecordPurchaseReceipt.SCHEMA: RecordPurchaseReceipt,
    UpsertSupplier.SCHEMA: UpsertSupplier,
    UpsertSupplierInvoice.SCHEMA: UpsertSupplierInvoice,
    RecordSupplierPayment.SCHEMA: RecordSupplierPayment,
}


class VismaWriterReplay:
    sink = SERVICE
    system = "Visma"

    def __init__(
        self, context: ReplayContext, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        """`transport` carries the lookups (tests: the in-process sandbox)."""
        options = options_from(context.sink_args, ServiceSettings())
        self._config = load_config(context.sink_args.config)
        self._options = options
        self._context = context
        self._transport = transport
        self.group_id = context.group_id or options.group_id
        topic = CommandLedgerTopic(
            commands=prefixed(options.commands_topic.name, SINK_VISMA_WRITER.name, context.prefix),
            ledger=prefixed(
                options.ledger_topic.name, STATE_VISMA_WRITER_LEDGER.name, context.prefix
            ),
        )
        self.topics = (topic,)
        self.expiry = Expiry(options.ledger_horizon)
        self._ledger = CommandLedger(
            SinkDelivery, topic=topic.ledger, producer=context.producer, serde=context.serde,
            client=f"{SERVICE}-replay-ledger", expiry=self.expiry,
        )  # fmt: skip
        vendors = VendorSuppliers(self._ledger)
        self._kinds: dict[str, DocumentKind[Any, Any]] = {
            RecordPurchaseReceipt.SCHEMA: PurchaseReceiptKind(),
            UpsertSupplier.SCHEMA: SupplierKind(vendors),
            UpsertSupplierInvoice.SCHEMA: SupplierInvoiceKind(vendors),
            RecordSupplierPayment.SCHEMA: SupplierPaymentKind(),
        }
        self._companies: CompanyClients | None = None
        self._loaded: set[int] = set()

    def decode(self, record: Record) -> ReplayCommand:
        model = DOCUMENTS.get(record.schema) or (
            ApplyVismaAction if record.schema == ApplyVismaAction.SCHEMA else None
        )
        if model is None:
            raise ValueError(f"the Visma writer has no handler for {record.schema!r}")
        command = model.from_record(record.value)
        return ReplayCommand.of(record, command)

    def ledger_state(self, topic: CommandLedgerTopic, fields: dict[str, Any]) -> LedgerState:
        return delivery_state(fields)

    def searchable(self, command: ReplayCommand) -> str | None:
        cmd = command.command
        known = {(c.tenant_id, c.company_id) for c in self._config.companies}
        if (cmd.tenant_id, cmd.company_id) not in known:
            return (
                f"company {cmd.tenant_id}/{cmd.company_id} has no Visma credentials in the "
                "writer's companies file (the writer dead-letters it)"
            )
        if isinstance(cmd, ApplyVismaAction) and in_effect_check(cmd.action) is None:
            return f"'{cmd.action}' leaves no mark on the invoice that tells whether it was applied"
        return None

    async def find(self, command: ReplayCommand) -> str | None:
        cmd = command.command
        companies = self._clients()
        key = (cmd.tenant_id, cmd.company_id)
        if isinstance(cmd, ApplyVismaAction):
            check = in_effect_check(cmd.action)
            assert check is not None  # searchable() said so
            version = await companies.actions[key].read(visma_id(cmd))
            return version.etag if check(version.invoice, cmd.comment) else None
        await self._load(command.record.partition)
        with handling([command.record]):  # the vendor's record lands in its partition
            found = await self._kinds[command.record.schema].find(companies.clients[key], cmd)
        return None if found is None else found.number

    async def record_found(self, command: ReplayCommand, external_id: str) -> None:
        entry = ledger_entry(
            command.command, DeliveryStatus.DONE, external_id, at=datetime.now(UTC)
        )
        await self._ledger.write(entry)

    async def aclose(self) -> None:
        if self._companies is not None:
            await self._companies.aclose()

    def _clients(self) -> CompanyClients:
        """Each company's client with the writer's own credentials; the vault is opened
        only when a lookup is needed."""
        if self._companies is None:
            settings, options = self._context.settings, self._options
            self._companies = CompanyClients(
                ClientSettings(self._config, self._transport, options.retry, options.time_scale),
                vault=self._context.vault or (lambda: vault_from_environment(kafka=settings)),
                hold_seconds=options.hold_seconds,
            )
        return self._companies

    async def _load(self, partition: int) -> None:
        if partition not in self._loaded:
            settings = self._context.settings
            await asyncio.to_thread(self._ledger.load, settings, [partition])
            self._loaded.add(partition)


def build(context: ReplayContext) -> VismaWriterReplay:
    return VismaWriterReplay(context)
