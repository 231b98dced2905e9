"""The scheduled reconciliation: what monday's webhooks never delivered, read from the boards.

monday retries a webhook for 30 minutes only; a connector down longer, or a delivery lost,
would lose a "Received". So every few minutes each configured board's items updated since
the last run are read (`items_page` with a `__last_updated__` rule) and each item's receipt
column is published as a `MondayColumnChanged` (`source="reconciliation"`) with the item's
Visma ID, which the receipts desk turns into the same command a webhook would have.

Where a run stands is a cursor per board (the `PollCursor` record on `state.poll-cursor.v1`,
`source="monday"`, the board as `company_id`), written in the same Kafka transaction as the
run's events: a crash repeats nothing that was committed and loses nothing that was not.
Each run reads again from a little before the newest update it saw (`overlap`: an update can
become visible late) and remembers the versions (item@updated_at) it published there, so
the overlap publishes nothing twice. A board's first run publishes nothing: it takes the
board as it stands (what was marked before the connector watched the board is not a change
it missed) and reconciles from there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from prometheus_client import Counter

from chassis.errors import RetryableError
from chassis.kafka.transactions import Outgoing, Transactions
from chassis.serde import AvroSerde
from events.monday import RECONCILIATION, MondayColumnChanged
from monday_receipts.config import (
    ReceiptBoard,
    ReceiptsConfig,
    ReceiptsConfigError,
    TenantBoard,
    same_title,
)
from monday_receipts.cursors import BoardCursor, cursor_key, encode_cursor

log = logging.getLogger(__name__)

PUBLISHED = Counter(
    "mlc_monday_reconciled_changes_total", "Column changes published by the reconciliation"
)


class ColumnInfo(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def type(self) -> str: ...


class BoardInfo(Protocol):
    @property
    def columns(self) -> Sequence[ColumnInfo]: ...


class ItemInfo(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def updated_at(self) -> datetime | None: ...
    def text(self, column_id: str) -> str | None: ...


class BoardReader(Protocol):
    """What the reconciliation reads from monday (`monday_client.MondayClient` is one)."""

    async def board(self, board_id: str) -> BoardInfo: ...

    def items(
        self, board_id: str, *, updated_since: datetime | None = None
    ) -> AsyncIterator[ItemInfo]: ...


@dataclass(frozen=True)
class Columns:
    receipt: ColumnInfo
    visma_id: ColumnInfo


@dataclass(frozen=True)
class Topics:
    changes: str
    cursors: str


def find_column(board: BoardInfo, wanted: str, *, board_id: str, field: str) -> ColumnInfo:
    """The column named `wanted` (its id, or its title as people type it), or a clear error."""
    for column in board.columns:
        if column.id == wanted or same_title(column.title, wanted):
            return column
    titles = ", ".join(repr(c.title) for c in board.columns)
    raise ReceiptsConfigError(
        f"board {board_id}: no column {wanted!r} for {field} (the board has {titles})"
    )


class Reconciliation:
    def __init__(
        self,
        *,
        config: ReceiptsConfig,
        reader: BoardReader,
        transactions: Transactions,
        serde: AvroSerde,
        topics: Topics,
        cursors: dict[str, BoardCursor],
        overlap: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = config
        self._reader = reader
        self._transactions = transactions
        self._serde = serde
        self._topics = topics
        self._cursors = cursors
        self._overlap = overlap
        self._clock = clock
        self._columns: dict[str, Columns] = {}

    async def check_columns(self) -> None:
        """Resolves every board's receipt and Visma ID columns; `ReceiptsConfigError` names
        the board and the column that is missing or of the wrong type."""
        for watched in self._config.all():
            self._columns[watched.board.board] = await self._resolve(watched.board)

    async def _resolve(self, board: ReceiptBoard) -> Columns:
        info = await self._reader.board(board.board)
        receipt = find_column(info, board.receipt_column, board_id=board.board,
                              field="the receipt status")  # fmt: skip
        if receipt.type != "status":
            raise ReceiptsConfigError(
                f"board {board.board}: column {receipt.title!r} for the receipt status is a "
                f"{receipt.type} column, not a status column"
            )
        visma_id = find_column(info, board.visma_id_column, board_id=board.board,
                               field="the Visma ID")  # fmt: skip
        return Columns(receipt, visma_id)

    async def run_once(self) -> int:
        """Reconciles every board once; the number of changes published. A board monday
        will not answer for now is left for the next run, the others go on."""
        published = 0
        for watched in self._config.all():
            try:
                published += await self.reconcile(watched)
            except RetryableError as exc:
                log.warning("board not reconciled this time", extra={
                    "board": watched.board.board, "error": str(exc)})  # fmt: skip
        return published

    async def reconcile(self, watched: TenantBoard) -> int:
        board = watched.board
        columns = self._columns.get(board.board) or await self._resolve(board)
        self._columns[board.board] = columns
        key = cursor_key(watched.tenant_id, board.board)
        cursor = self._cursors.get(key)
        since = None if cursor is None else cursor.since
        records: list[Outgoing] = []
        read: dict[str, datetime] = {}
        async for item in self._reader.items(board.board, updated_since=since):
            stamp = item.updated_at or self._clock()
            version = f"{item.id}@{int(stamp.timestamp() * 1000)}"
            read[version] = stamp
            if cursor is None or version in cursor.seen:
                continue  # a first run takes the board as it stands
            change = self._change(watched, columns, item, stamp=stamp, version=version)
            if change is not None:
                records.append((self._topics.changes, change.key, self._encode(change)))
        after = BoardCursor.after_run(cursor, read, overlap=self._overlap)
        if cursor is None:
            log.info("board taken as it stands", extra={"board": board.board, "items": len(read)})
        value = encode_cursor(self._serde, after, tenant_id=watched.tenant_id, board_id=board.board)
        await self._transactions.publish([*records, (self._topics.cursors, key, value)])
        self._cursors[key] = after
        PUBLISHED.inc(len(records))
        return len(records)

    def _change(
        self, watched: TenantBoard, columns: Columns, item: ItemInfo, *, stamp: datetime,
        version: str,
    ) -> MondayColumnChanged | None:  # fmt: skip
        text = item.text(columns.receipt.id)
        if not text or not text.strip():
            return None  # an empty cell reports no receipt
        return MondayColumnChanged(
            tenant_id=watched.tenant_id,
            board_id=watched.board.board,
            item_id=item.id,
            column_id=columns.receipt.id,
            column_title=columns.receipt.title,
            column_type=columns.receipt.type,
            value_text=text,
            changed_at=stamp,
            source=RECONCILIATION,
            trigger_uuid=f"{RECONCILIATION}/{watched.board.board}/{version}",
            visma_id=item.text(columns.visma_id.id) or None,
            received_at=self._clock(),
        )

    def _encode(self, change: MondayColumnChanged) -> bytes:
        return self._serde.encode(change.SCHEMA, change.to_record())

    async def run_forever(self, stopped: asyncio.Event, *, every_seconds: float) -> None:
        """Runs until `stopped` is set; a run that fails on a retryable error is logged and
        the next one goes on (a permanent one, such as a rejected token, ends the service)."""
        while not stopped.is_set():
            published = await self.run_once()
            if published:
                log.info("reconciled", extra={"published": published})
            try:
                await asyncio.wait_for(stopped.wait(), timeout=every_seconds)
            except TimeoutError:
                continue
