"""Handles CreateMondayItem commands: an upsert of one item per Visma record and board.

For each command, in its board's order (one call in flight per board):

1. DONE in the ledger: a replay, nothing is called (audited as skipped).
2. The item of the command's Visma record is the ledger's (a DONE entry of the same tenant,
   board and Visma id), else the one the board's Visma ID column holds (`find_items`): the
   lookup before any create also finds the item of a call that was interrupted after monday
   made it (the sink died, or the answer was lost), and the item of a record whose entry
   expired. Only when neither knows it is an item created.
3. PENDING is written, then `change_column_values` on the item or `create_item`, then DONE
   with the item id, and an audit event with the item id (created or updated). An item the
   ledger did not know (created, or found by the lookup) is first linked to its Visma record
   (`links`), and the audit event is confirmed by Kafka, both before DONE: a crash in
   between links and audits it again rather than never.

An item a person deleted from the board is made again at the record's next change (the
update answers InvalidItemIdException; the record is still in Visma). A command without a
Visma id (a digest) is one new item each; its PENDING entry after an interrupted call cannot
be looked up, so it is created again (audited as a possible repeat).

When a board's queue is long, its updates of items the ledger knows go several to one
request (`change_many`, aliased mutations executed one after another by monday): fewer calls
against the daily limit for the same complexity. Updates repeat safely, so a batch that fails
is simply sent again. Creates are never batched: each is looked up first.

`MondayDailyLimitReached` holds the tenant's work until the reset (`daily_limit`); a token
monday refuses holds it until the vault has a new one (`credentials`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from typing import TypeVar

from prometheus_client import Counter

from chassis.audit import AuditTrail, Stage
from chassis.kafka.producer import confirm
from chassis.kafka.record import Record
from events.commands import CreateMondayItem
from events.monday_deliveries import MondayAction, MondayDelivery, MondayDeliveryStatus
from monday_client import MondayAuthError, MondayDailyLimitReached, MondayInvalidInput
from monday_sink.boards import MappedBoard, MappedBoards
from monday_sink.credentials import TenantClients
from monday_sink.daily_limit import DailyLimits
from monday_sink.ledger import Ledger

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITTEN = Counter("mlc_monday_items_total", "Items created or updated", ["action"])
FOUND = Counter(
    "mlc_monday_items_found_total",
    "Records whose item the ledger did not know but the board's Visma ID column held",
)

ITEM_GONE = "InvalidItemIdException"
"""monday's answer to a change of an item that is not on the board (a person deleted it)."""

ItemLinked = Callable[[CreateMondayItem, str], Awaitable[object]]
"""Told which item holds a Visma record the ledger did not know (publishes `MondayItemLinked`)."""


class MondayItems:
    def __init__(
        self,
        *,
        boards: MappedBoards,
        ledger: Ledger,
        audit: AuditTrail,
        limits: DailyLimits,
        linked: ItemLinked | None = None,
        credentials: TenantClients | None = None,
    ) -> None:
        """`credentials` holds a tenant's commands while monday refuses its token (without
        it, such a command is dead-lettered)."""
        self._credentials = credentials
        self._boards = boards
        self._ledger = ledger
        self._audit = audit
        self._limits = limits
        self._linked = linked

    # ---- one command ----------------------------------------------------------------------

    async def __call__(self, record: Record) -> None:
        command = CreateMondayItem.from_record(record.value)
        board = self._board(command)
        entry = self._ledger.get(command.command_id)
        if entry is not None and entry.status is MondayDeliveryStatus.DONE:
            self._skip(command, entry)
            return
        values, name = board.values(command), board.item_name(command)
        known = self._ledger.item_of(command)
        item = known or await self._look_up(board, command, entry)
        (pending,) = await self._ledger.pending([command])
        async with record.paced():
            item, action = await self._write(board, command, item, name=name, values=values)
        if item != known and command.visma_id is not None and self._linked is not None:
            await self._linked(command, item)  # before DONE: a crash here links it again
        found = known is None and action is MondayAction.UPDATED
        await self._written([(command, item)], action, detail=" (found by its Visma id)" * found)
        await self._ledger.done([pending], items=[item], action=action)

    async def _write(
        self,
        board: MappedBoard,
        command: CreateMondayItem,
        item: str | None,
        *,
        name: str,
        values: dict[str, object],
    ) -> tuple[str, MondayAction]:
        """Updates `item`, or creates the record's item when there is none; an item someone
        deleted from the board is replaced by a new one (the record is still in Visma)."""
        labels = board.mapping.create_labels_if_missing
        if item is not None:
            try:
                await self._update(board, item, values)
                return item, MondayAction.UPDATED
            except MondayInvalidInput as error:
                if error.code != ITEM_GONE:
                    raise
                log.warning("the record's item is gone from the board: it gets a new one",
                            extra={"command_id": command.command_id, "item_id": item,
                                   "board_id": board.board_id})  # fmt: skip
            # A new one an interrupted attempt made may be there already.
            again = await self._look_up(board, command, None)
            if again is not None and again != item:
                await self._update(board, again, values)
                return again, MondayAction.UPDATED
        created = await self._calling(board, board.items.create_item(
            board.board_id, item_name=name, group_id=command.group_id, column_values=values,
            create_labels_if_missing=labels,
        ))  # fmt: skip
        return created, MondayAction.CREATED

    async def _update(self, board: MappedBoard, item: str, values: dict[str, object]) -> None:
        await self._calling(board, board.items.change_column_values(
            board.board_id, item, values,
            create_labels_if_missing=board.mapping.create_labels_if_missing,
        ))  # fmt: skip

    async def _look_up(
        self, board: MappedBoard, command: CreateMondayItem, entry: MondayDelivery | None
    ) -> str | None:
        """The item the board's Visma ID column holds for a record the ledger does not know
        (None: a new record, or one without a Visma id)."""
        interrupted = entry is not None and entry.attempts > 0
        if command.visma_id is None:
            if interrupted:
                self._audit.record(
                    Stage.RETRIED, entity_id=command.entity_id, command_id=command.command_id,
                    detail="an interrupted create without a Visma id may have made an item: "
                    "creating it again (nothing to look it up by)",
                )  # fmt: skip
            return None
        found = await self._calling(board, board.items.find_items(
            board.board_id, column_id=board.mapping.visma_id_column, value=command.visma_id,
        ))  # fmt: skip
        if not found:
            return None
        FOUND.inc()
        log.info("item found by its Visma id", extra={
            "command_id": command.command_id, "item_id": found[0].id,
            "board_id": board.board_id, "interrupted": interrupted})  # fmt: skip
        return found[0].id

    # ---- several updates of one board in one request ---------------------------------------

    def foldable(self, record: Record) -> bool:
        """An update of an item the ledger knows (a batch never creates)."""
        command = CreateMondayItem.from_record(record.value)
        entry = self._ledger.get(command.command_id)
        done = entry is not None and entry.status is MondayDeliveryStatus.DONE
        return not done and self._ledger.item_of(command) is not None

    async def batch(self, records: Sequence[Record]) -> None:
        commands = [CreateMondayItem.from_record(r.value) for r in records]
        live = []
        for command in commands:
            entry = self._ledger.get(command.command_id)
            if entry is not None and entry.status is MondayDeliveryStatus.DONE:
                self._skip(command, entry)
            else:
                live.append(command)
        if not live:
            return
        board = self._board(live[0])
        known = [self._ledger.item_of(c) for c in live]
        changes = [(item, board.values(c)) for item, c in zip(known, live, strict=True) if item]
        if len(changes) != len(live):  # foldable said each is known; it can only stay known
            raise AssertionError("a batched update lost its item")
        pending = await self._ledger.pending(live)
        try:
            async with records[0].paced():
                await self._calling(board, board.items.change_many(
                    board.board_id, changes,
                    create_labels_if_missing=board.mapping.create_labels_if_missing,
                ))  # fmt: skip
        except MondayInvalidInput as error:
            if error.code != ITEM_GONE:
                raise
            for record in records:  # one by one: updates repeat safely, a gone item is remade
                await self(record)
            return
        items = [item for item, _ in changes]
        await self._written(
            list(zip(live, items, strict=True)), MondayAction.UPDATED,
            detail=f" (one of {len(live)})",
        )  # fmt: skip
        await self._ledger.done(pending, items=items, action=MondayAction.UPDATED)

    # ---- shared ----------------------------------------------------------------------------

    def _board(self, command: CreateMondayItem) -> MappedBoard:
        board = self._boards.of(command)
        self._limits.check(board.tenant_id)
        if self._credentials is not None:
            self._credentials.check(board.tenant_id)
        return board

    async def _calling(self, board: MappedBoard, call: Awaitable[T]) -> T:
        """Awaits a call of the tenant's client; the daily limit holds the tenant."""
        try:
            return await call
        except MondayDailyLimitReached as error:
            raise self._limits.reached(board.tenant_id, error, probe=board.ping) from error
        except MondayAuthError as error:
            if self._credentials is None:
                raise
            raise self._credentials.refused(
                board.tenant_id, used=board.items, error=str(error)
            ) from error

    async def _written(
        self, written: list[tuple[CreateMondayItem, str]], action: MondayAction, *, detail: str
    ) -> None:
        """Audits each (command, item) and waits until Kafka has the events: written before
        DONE, so a crash in between audits the item again rather than never."""
        WRITTEN.labels(action.value.lower()).inc(len(written))
        sent = [
            self._audit.record(
                Stage.SENT,
                entity_id=command.entity_id,
                event_id=command.source_event_id,
                command_id=command.command_id,
                external_id=item,
                detail=f"{action.value.lower()} monday item {item} on board {command.board_id}"
                + (f" for {command.visma_id}" if command.visma_id else "")
                + detail,
            )
            for command, item in written
        ]
        deliveries = [d for d in sent if isinstance(d, Future)]
        if deliveries:
            await asyncio.to_thread(confirm, deliveries)

    def _skip(self, command: CreateMondayItem, entry: MondayDelivery) -> None:
        self._audit.record(
            Stage.SKIPPED,
            entity_id=command.entity_id,
            command_id=command.command_id,
            external_id=entry.item_id,
            detail=f"already {(entry.action or MondayAction.CREATED).value.lower()} "
            f"(item {entry.item_id})",
        )
