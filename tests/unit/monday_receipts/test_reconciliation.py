"""The reconciliation: what it reads from a board, what it publishes, and its cursor.

A fake board (items with an update time and cell texts) stands in for monday; the Kafka
transactions are recorded. Each run's events and cursor are one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chassis.errors import RetryableError
from chassis.serde import AvroSerde, SchemaCatalog
from events.monday import MondayColumnChanged
from monday_receipts.config import ReceiptsConfig, ReceiptsConfigError, ReceiptsFile
from monday_receipts.cursors import BoardCursor, cursor_key
from monday_receipts.reconcile import Outgoing, Reconciliation, Topics

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
BOARD = "1000000001"
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
TOPICS = Topics(changes="monday.column-change.v1", cursors="state.poll-cursor.v1")


def config(**board: Any) -> ReceiptsConfig:
    spec = {"board": BOARD, "company": "1234567", "receipt_column": "Receipt"} | board
    return ReceiptsConfig(ReceiptsFile.model_validate({"tenants": {"acme": {"boards": [spec]}}}))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Column:
    id: str
    title: str
    type: str


@dataclass
class Item:
    id: str
    updated_at: datetime | None
    texts: dict[str, str | None]

    def text(self, column_id: str) -> str | None:
        return self.texts.get(column_id)


@dataclass
class Board:
    columns: Sequence[Column] = (
        Column("text_visma_id", "Visma ID", "text"),
        Column("status_receipt", "Receipt ", "status"),
        Column("status_approval", "Approval", "status"),
    )
    items: dict[str, Item] = field(default_factory=dict)
    asked_since: list[datetime | None] = field(default_factory=list)
    failing: Exception | None = None

    def mark(self, item_id: str, label: str, at: datetime, visma_id: str = "") -> None:
        visma_id = visma_id or f"1234567/purchaseOrder/RegularOrder:PO-{item_id}"
        self.items[item_id] = Item(item_id, at, {"status_receipt": label,
                                                 "text_visma_id": visma_id})  # fmt: skip

    async def board(self, board_id: str) -> Board:
        assert board_id == BOARD
        return self

    async def items_since(self, updated_since: datetime | None) -> AsyncIterator[Item]:
        self.asked_since.append(updated_since)
        if self.failing is not None:
            raise self.failing
        for item in sorted(self.items.values(), key=lambda i: i.id):
            if updated_since is None or item.updated_at is None or item.updated_at >= updated_since:
                yield item


class Reader:
    def __init__(self, board: Board) -> None:
        self._board = board

    async def board(self, board_id: str) -> Board:
        return await self._board.board(board_id)

    def items(self, board_id: str, *, updated_since: datetime | None = None) -> AsyncIterator[Item]:
        return self._board.items_since(updated_since)


@dataclass
class Transactions:
    committed: list[list[Outgoing]] = field(default_factory=list)
    refuse: bool = False

    async def publish(self, records: Sequence[Outgoing]) -> None:
        if self.refuse:
            raise RetryableError("transaction not committed")
        self.committed.append(list(records))

    def changes(self) -> list[MondayColumnChanged]:
        return [
            MondayColumnChanged.from_record(SERDE.decode(value)[1])
            for records in self.committed
            for topic, _, value in records
            if topic == TOPICS.changes
        ]


@dataclass
class Rig:
    board: Board
    transactions: Transactions
    cursors: dict[str, BoardCursor]
    reconciliation: Reconciliation


def rig_for(board: Board, cursors: dict[str, BoardCursor] | None = None, **spec: Any) -> Rig:
    transactions = Transactions()
    cursors = {} if cursors is None else cursors
    reconciliation = Reconciliation(
        config=config(**spec), reader=Reader(board), transactions=transactions, serde=SERDE,
        topics=TOPICS, cursors=cursors, overlap=timedelta(minutes=2),
        clock=lambda: T0 + timedelta(hours=1),
    )  # fmt: skip
    return Rig(board, transactions, cursors, reconciliation)


@pytest.fixture
def rig() -> Rig:
    return rig_for(Board())


async def test_a_first_run_takes_the_board_as_it_stands(rig: Rig) -> None:
    rig.board.mark("1", "Received", T0)

    assert await rig.reconciliation.run_once() == 0

    [records] = rig.transactions.committed
    assert [(topic, key) for topic, key, _ in records] == [(TOPICS.cursors, "monday/acme/" + BOARD)]
    assert rig.board.asked_since == [None]


async def test_a_change_after_the_first_run_is_published_with_its_visma_id(rig: Rig) -> None:
    rig.board.mark("1", "Pending", T0)
    await rig.reconciliation.run_once()
    rig.board.mark("2", "Received", T0 + timedelta(minutes=10))

    assert await rig.reconciliation.run_once() == 1

    [change] = rig.transactions.changes()
    assert (change.source, change.tenant_id, change.board_id, change.item_id) == (
        "reconciliation", "acme", BOARD, "2")  # fmt: skip
    assert (change.column_id, change.column_title, change.column_type) == (
        "status_receipt", "Receipt ", "status")  # fmt: skip
    assert change.value_text == "Received"
    assert change.visma_id == "1234567/purchaseOrder/RegularOrder:PO-2"
    assert change.changed_at == T0 + timedelta(minutes=10)
    assert change.key == f"{BOARD}/2"
    # Its events and the cursor in the same transaction, the cursor last.
    last = rig.transactions.committed[-1]
    assert [topic for topic, _, _ in last] == [TOPICS.changes, TOPICS.cursors]


async def test_the_overlap_is_read_again_and_publishes_nothing_twice(rig: Rig) -> None:
    await rig.reconciliation.run_once()
    rig.board.mark("2", "Received", T0 + timedelta(minutes=10))
    await rig.reconciliation.run_once()

    assert await rig.reconciliation.run_once() == 0

    assert rig.board.asked_since[-1] == T0 + timedelta(minutes=8)  # newest update - overlap
    assert len(rig.transactions.changes()) == 1


async def test_the_same_item_updated_again_is_published_again(rig: Rig) -> None:
    await rig.reconciliation.run_once()
    rig.board.mark("2", "Received", T0 + timedelta(minutes=10))
    await rig.reconciliation.run_once()
    rig.board.mark("2", "Received", T0 + timedelta(minutes=11))  # another column changed

    assert await rig.reconciliation.run_once() == 1

    first, second = rig.transactions.changes()
    assert first.trigger_uuid != second.trigger_uuid
    assert (first.item_id, second.item_id) == ("2", "2")


async def test_an_empty_receipt_cell_reports_nothing(rig: Rig) -> None:
    await rig.reconciliation.run_once()
    rig.board.mark("3", "", T0 + timedelta(minutes=1))

    assert await rig.reconciliation.run_once() == 0


async def test_a_restart_goes_on_from_the_committed_cursor(rig: Rig) -> None:
    await rig.reconciliation.run_once()
    rig.board.mark("2", "Received", T0 + timedelta(minutes=10))
    await rig.reconciliation.run_once()

    again = rig_for(rig.board, dict(rig.cursors))
    rig.board.mark("4", "Received", T0 + timedelta(minutes=20))

    assert await again.reconciliation.run_once() == 1
    assert [c.item_id for c in again.transactions.changes()] == ["4"]


async def test_a_run_not_committed_is_read_again_by_the_next(rig: Rig) -> None:
    await rig.reconciliation.run_once()
    rig.board.mark("2", "Received", T0 + timedelta(minutes=10))
    rig.transactions.refuse = True

    assert await rig.reconciliation.run_once() == 0  # logged, left for the next run
    rig.transactions.refuse = False
    assert await rig.reconciliation.run_once() == 1

    assert [c.item_id for c in rig.transactions.changes()] == ["2"]


async def test_monday_unavailable_for_one_run_loses_nothing(rig: Rig) -> None:
    await rig.reconciliation.run_once()
    rig.board.mark("2", "Received", T0 + timedelta(minutes=10))
    rig.board.failing = RetryableError("monday answered 503")

    assert await rig.reconciliation.run_once() == 0
    rig.board.failing = None
    assert await rig.reconciliation.run_once() == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"receipt_column": "Delivered"},
            "board 1000000001: no column 'Delivered' for the receipt",
        ),
        ({"receipt_column": "Visma ID"}, "'Visma ID' for the receipt status is a text column"),
        ({"visma_id_column": "ERP key"}, "no column 'ERP key' for the Visma ID"),
    ],
)
async def test_a_missing_or_wrong_column_fails_at_start_naming_board_and_column(
    spec: dict[str, str], message: str
) -> None:
    rig = rig_for(Board(), **spec)

    with pytest.raises(ReceiptsConfigError, match=message):
        await rig.reconciliation.check_columns()


def test_the_cursor_never_moves_back_and_remembers_a_bounded_overlap() -> None:
    first = BoardCursor.after_run(None, {"1@1000": T0}, overlap=timedelta(minutes=2))
    assert first.since == T0 - timedelta(minutes=2)
    assert first.seen == {"1@1000"}

    empty = BoardCursor.after_run(first, {}, overlap=timedelta(minutes=2))
    assert empty.since == first.since

    stamp = T0 + timedelta(hours=1)
    later = BoardCursor.after_run(
        first, {f"2@{int(stamp.timestamp() * 1000)}": stamp}, overlap=timedelta(minutes=2)
    )
    assert later.since == stamp - timedelta(minutes=2)
    assert "1@1000" not in later.seen


def test_the_cursor_key_is_per_tenant_and_board() -> None:
    assert cursor_key("acme", BOARD) == "monday/acme/1000000001"
