"""The receipts desk: one monday column change in, at most one purchase receipt command out.

A change is a receipt when it is on a configured board's receipt column, its new label
means "received", and the item is a Visma purchase order of the board's company. Which
order an item is comes from the Monday sink's link (`monday.item.v1`, read into a table)
or, when the change carries it, from the item's Visma ID column (the reconciliation reads
it). A webhook about an item whose link has not been read within a short wait is left to
the reconciliation, which reads the Visma ID itself: nothing is guessed.

The command's id is derived from (tenant, company, order number, "purchase-receipt") only:
the webhook, its retries, the reconciliation and any replay of either give the same command,
and the Visma writer's ledger applies it once. Every receipt decision is audited under the
order's entity key, so `mlc audit` shows the change next to the receipt.
"""

from __future__ import annotations

import hashlib
import logging
from enum import StrEnum
from typing import Protocol

from prometheus_client import Counter

from chassis.audit import AuditTrail, Stage
from events.monday import MondayColumnChanged, MondayItemLinked, VismaRecordRef
from events.visma_writes import RecordPurchaseReceipt
from monday_receipts.config import ReceiptBoard, ReceiptsConfig

log = logging.getLogger(__name__)

PURCHASE_ORDER = "purchaseOrder"
RULE = "monday-receipt"
SOURCE_SYSTEM = "monday"
ID_SEPARATOR = ":"
"""A purchase order's canonical id is `<order type>:<order number>`."""

CHANGES = Counter(
    "mlc_monday_receipt_changes_total", "Column changes judged, by outcome", ["outcome"]
)


class Outcome(StrEnum):
    RECEIPT = "receipt"
    NOT_A_RECEIPT = "not_a_receipt"
    """Another board, column or label: nothing to do."""
    UNKNOWN_ITEM = "unknown_item"
    """No link and no Visma ID: not the connector's item, or the reconciliation will say."""
    NOT_AN_ORDER = "not_an_order"
    OTHER_COMPANY = "other_company"


class ItemLinks(Protocol):
    async def link_of(self, board_id: str, item_id: str) -> MondayItemLinked | None:
        """The item's link, waiting briefly for one not read yet; None if there is none."""


class Outbox(Protocol):
    def receipt(self, command: RecordPurchaseReceipt) -> None: ...

    async def flush(self) -> None:
        """Raises if Kafka did not take everything sent (the runner then retries)."""


def receipt_command_id(*, tenant_id: str, company_id: str, order_number: str) -> str:
    """One id per order's receipt, whoever reports it and however often."""
    key = f"{tenant_id}|{company_id}|{order_number}|purchase-receipt"
    return hashlib.sha256(key.encode()).hexdigest()


def order_number_of(entity_id: str) -> str:
    """`RegularOrder:PO-7` -> `PO-7`; an id without an order type is the number itself."""
    return entity_id.split(ID_SEPARATOR, 1)[-1]


class ReceiptDesk:
    def __init__(
        self, *, config: ReceiptsConfig, links: ItemLinks, outbox: Outbox, audit: AuditTrail
    ) -> None:
        self._config = config
        self._links = links
        self._outbox = outbox
        self._audit = audit

    async def handle(self, change: MondayColumnChanged) -> Outcome:
        outcome = await self._judge(change)
        CHANGES.labels(outcome.value).inc()
        return outcome

    async def _judge(self, change: MondayColumnChanged) -> Outcome:
        board = self._config.board(change.tenant_id, change.board_id)
        if board is None or not self._is_received(board, change):
            return Outcome.NOT_A_RECEIPT
        record = await self._record_of(change)
        where = f"board {change.board_id} item {change.item_id} ({change.source})"
        if record is None:
            log.info("received on an item of no known Visma record", extra={"item": where})
            return Outcome.UNKNOWN_ITEM
        order_key = (
            f"{change.tenant_id}/{record.company_id}/{record.entity_type}/{record.entity_id}"
        )
        if record.entity_type != PURCHASE_ORDER:
            why = f"{where} is a {record.entity_type}, not a purchase order"
            return self._skipped(change, order_key, why, Outcome.NOT_AN_ORDER)
        if record.company_id != board.company:
            why = f"{where} is of company {record.company_id}, the board's is {board.company}"
            return self._skipped(change, order_key, why, Outcome.OTHER_COMPANY)
        command = self._command(change, record, order_key)
        self._audit.record(
            Stage.ROUTED,
            entity_id=order_key,
            event_id=change.trigger_uuid,
            command_id=command.command_id,
            external_id=change.key,
            detail=f"marked {change.value_text!r} on monday {where}: purchase receipt",
        )
        self._outbox.receipt(command)
        await self._outbox.flush()
        return Outcome.RECEIPT

    def _is_received(self, board: ReceiptBoard, change: MondayColumnChanged) -> bool:
        on_column = board.is_receipt_column(
            column_id=change.column_id, column_title=change.column_title
        )
        return on_column and board.means_received(change.value_text)

    async def _record_of(self, change: MondayColumnChanged) -> VismaRecordRef | None:
        # The item's own Visma ID column, when the source read it, is the freshest word.
        named = VismaRecordRef.parse(change.visma_id)
        if named is not None:
            return named
        link = await self._links.link_of(change.board_id, change.item_id)
        if link is None or link.tenant_id != change.tenant_id:
            return None
        return VismaRecordRef(link.company_id, link.entity_type, link.entity_id)

    def _command(
        self, change: MondayColumnChanged, record: VismaRecordRef, order_key: str
    ) -> RecordPurchaseReceipt:
        order_number = order_number_of(record.entity_id)
        return RecordPurchaseReceipt(
            command_id=receipt_command_id(
                tenant_id=change.tenant_id, company_id=record.company_id, order_number=order_number
            ),
            tenant_id=change.tenant_id,
            rule=RULE,
            source_event_id=f"{SOURCE_SYSTEM}/{change.key}/{change.trigger_uuid}",
            entity_type=PURCHASE_ORDER,
            entity_id=order_key,
            created_at=change.changed_at,
            company_id=record.company_id,
            order_number=order_number,
            source_system=SOURCE_SYSTEM,
            source_ref=change.key,
        )

    def _skipped(
        self, change: MondayColumnChanged, order_key: str, why: str, outcome: Outcome
    ) -> Outcome:
        self._audit.record(
            Stage.SKIPPED,
            entity_id=order_key,
            event_id=change.trigger_uuid,
            external_id=change.key,
            detail=f"no receipt: {why}"[:500],
        )
        return outcome
