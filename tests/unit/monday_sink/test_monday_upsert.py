"""MondayItems: one item per Visma record and board, created once, updated after, never
twice; a replay calls nothing; an interrupted create is found by its Visma id, not made
again; a board's backlog of updates goes several to one request."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.monday_sink.monday_sink_kit import (
    BOARD,
    SERDE,
    TENANT,
    VISMA_COLUMN,
    Audit,
    Mapping_,
    Monday,
    Producer,
    command,
    record,
)

from chassis.errors import PermanentError
from chassis.kafka.handling import handling
from chassis.kafka.record import Record
from events.monday_deliveries import MondayAction, MondayDeliveryStatus
from monday_sink.boards import MappedBoard, MappedBoards
from monday_sink.daily_limit import DailyLimits
from monday_sink.delivery import MondayItems
from monday_sink.ledger import Ledger

pytestmark = pytest.mark.unit


class Sink:
    def __init__(self, monday: Monday | None = None, producer: Producer | None = None) -> None:
        self.monday = monday or Monday()
        self.producer = producer or Producer()
        self.audit = Audit(self.producer)
        self.linked: list[tuple[str, str]] = []
        self.ledger = Ledger(
            sink="monday-sink", topic="state.monday-ledger.v1", producer=self.producer,  # type: ignore[arg-type]
            serde=SERDE,
        )  # fmt: skip
        board = MappedBoard(TENANT, BOARD, self.monday, Mapping_())
        self.items = MondayItems(
            boards=MappedBoards({(TENANT, BOARD): board}), ledger=self.ledger,
            audit=self.audit,  # type: ignore[arg-type]
            limits=DailyLimits(probe_seconds=0.01), linked=self._linked,
        )  # fmt: skip

    async def _linked(self, cmd: Any, item: str) -> None:
        self.linked.append((cmd.visma_id, item))

    async def handle(self, rec: Record) -> None:
        with handling([rec]):
            await self.items(rec)

    async def handle_batch(self, recs: list[Record]) -> None:
        with handling(recs):
            await self.items.batch(recs)


@pytest.mark.anyio
async def test_a_new_record_is_looked_up_then_created_and_a_change_updates_the_same_item() -> None:
    sink = Sink()
    await sink.handle(record(command("INV-1", 1, total="10.00")))
    assert sink.monday.calls == ["find_items", "create_item"]
    (item,) = sink.monday.items
    assert sink.monday.items[item]["values"] == {
        "text_invoice": "INV-1", "numbers_amount": "10.00", VISMA_COLUMN: "INV-1"
    }  # fmt: skip

    await sink.handle(record(command("INV-1", 2, total="12.50")))
    assert sink.monday.calls[2:] == ["change_column_values"]  # the ledger knew: no lookup
    assert list(sink.monday.items) == [item]
    assert sink.monday.items[item]["values"]["numbers_amount"] == "12.50"

    done = [e for e in sink.producer.sent if e.status is MondayDeliveryStatus.DONE]
    assert [(e.action, e.item_id) for e in done] == [
        (MondayAction.CREATED, item), (MondayAction.UPDATED, item)
    ]  # fmt: skip
    sent = [e for e in sink.audit.events if e["stage"] == "sent"]
    assert [e["external_id"] for e in sent] == [item, item]
    assert [e["ledger_writes"] for e in sent] == [1, 3]  # after PENDING, before DONE
    assert sent[0]["detail"].startswith("created monday item")
    assert "INV-1" in sent[0]["detail"]
    assert sent[1]["detail"].startswith("updated monday item")
    assert sink.linked == [("INV-1", item)]  # only a create links an item


@pytest.mark.anyio
async def test_a_replayed_command_calls_nothing() -> None:
    sink = Sink()
    rec = record(command("INV-1", 1))
    await sink.handle(rec)
    calls = list(sink.monday.calls)
    await sink.handle(record(command("INV-1", 1)))
    assert sink.monday.calls == calls
    assert sink.audit.events[-1]["stage"] == "skipped"
    assert len(sink.monday.items) == 1


@pytest.mark.anyio
async def test_an_interrupted_create_is_found_by_its_visma_id_not_made_again() -> None:
    """The sink died after monday made the item and before DONE: the reloaded ledger holds
    only the PENDING entry of that attempt."""
    sink = Sink()
    cmd = command("INV-7", 1)
    with handling([record(cmd)]):
        await sink.ledger.pending([cmd])
    made = await sink.monday.create_item(BOARD, item_name="x", group_id=None,
                                         column_values={VISMA_COLUMN: "INV-7"})  # fmt: skip
    sink.monday.calls.clear()
    await sink.handle(record(cmd))
    assert sink.monday.calls == ["find_items", "change_column_values"]
    assert len(sink.monday.on_board(BOARD)) == 1
    assert sink.producer.sent[-1].status is MondayDeliveryStatus.DONE
    assert sink.producer.sent[-1].attempts == 2
    assert sink.producer.sent[-1].item_id == made
    assert sink.linked == [("INV-7", made)]  # the link the crash may have cut off


@pytest.mark.anyio
async def test_a_record_the_ledger_forgot_updates_the_item_on_the_board() -> None:
    monday = Monday()
    await monday.create_item(BOARD, item_name="x", group_id=None,
                             column_values={VISMA_COLUMN: "INV-9"})  # fmt: skip
    sink = Sink(monday)
    await sink.handle(record(command("INV-9", 3, total="99.00")))
    assert monday.calls[-2:] == ["find_items", "change_column_values"]
    (only,) = monday.on_board(BOARD)
    assert only["values"]["numbers_amount"] == "99.00"


@pytest.mark.anyio
async def test_without_a_visma_id_every_command_is_a_new_item() -> None:
    sink = Sink()
    await sink.handle(record(command(None, 1)))
    await sink.handle(record(command(None, 2)))
    assert sink.monday.calls == ["create_item", "create_item"]
    assert VISMA_COLUMN not in next(iter(sink.monday.items.values()))["values"]


@pytest.mark.anyio
async def test_a_board_without_a_mapping_is_dead_lettered_with_what_to_do() -> None:
    sink = Sink()
    with pytest.raises(PermanentError, match=r"board 42 of tenant tenant-se-1.*mlc monday map"):
        await sink.handle(record(command("INV-1", 1, board="42")))
    assert sink.monday.calls == []


@pytest.mark.anyio
async def test_a_backlog_of_updates_goes_in_one_request_and_creates_never_batch() -> None:
    sink = Sink()
    for n in range(3):
        await sink.handle(record(command(f"INV-{n}", 1)))
    sink.monday.calls.clear()
    updates = [record(command(f"INV-{n}", 2, total=f"{n}.50")) for n in range(3)]
    new = record(command("INV-NEW", 1))
    replayed = record(command("INV-0", 1))
    assert all(sink.items.foldable(r) for r in updates)
    assert not sink.items.foldable(new)
    assert not sink.items.foldable(replayed)

    await sink.handle_batch(updates)
    assert sink.monday.calls == ["change_many"]
    assert sorted(i["values"]["numbers_amount"] for i in sink.monday.items.values()) == [
        "0.50", "1.50", "2.50"
    ]  # fmt: skip
    await sink.handle_batch(updates)  # redelivered: every one is DONE
    assert sink.monday.calls == ["change_many"]
    assert [e["stage"] for e in sink.audit.events[-3:]] == ["skipped"] * 3


@pytest.mark.anyio
async def test_an_item_deleted_from_the_board_is_made_again_at_the_records_next_change() -> None:
    sink = Sink()
    await sink.handle(record(command("INV-1", 1)))
    await sink.handle(record(command("INV-2", 1)))
    first, second = list(sink.monday.items)
    del sink.monday.items[first]  # a person deleted it
    await sink.handle(record(command("INV-1", 2, total="20.00")))
    (remade,) = [i for i in sink.monday.items if i != second]
    assert remade != first
    assert sink.monday.items[remade]["values"]["numbers_amount"] == "20.00"
    assert sink.producer.sent[-1].action is MondayAction.CREATED
    assert sink.linked[-1] == ("INV-1", remade)
    await sink.handle(record(command("INV-1", 3, total="30.00")))  # the ledger knows the new one
    assert sink.monday.calls[-1] == "change_column_values"
    assert sink.monday.items[remade]["values"]["numbers_amount"] == "30.00"

    del sink.monday.items[remade]
    updates = [record(command("INV-1", 4, total="4.00")), record(command("INV-2", 2, total="5.00"))]
    await sink.handle_batch(updates)  # the batch fails at the gone item: one by one instead
    values = sorted(i["values"]["numbers_amount"] for i in sink.monday.items.values())
    assert values == ["4.00", "5.00"]
    assert len(sink.monday.items) == 2


@pytest.mark.anyio
async def test_an_interrupted_replacement_of_a_deleted_item_is_found_not_made_twice() -> None:
    sink = Sink()
    await sink.handle(record(command("INV-1", 1)))
    (first,) = list(sink.monday.items)
    del sink.monday.items[first]
    cmd = command("INV-1", 2)
    with handling([record(cmd)]):
        await sink.ledger.pending([cmd])  # then monday made the new item and the sink died
    made = await sink.monday.create_item(
        BOARD, item_name="x", column_values={VISMA_COLUMN: "INV-1"}
    )
    await sink.handle(record(cmd))
    assert list(sink.monday.items) == [made]
    assert sink.monday.calls[-3:] == ["change_column_values", "find_items", "change_column_values"]
    assert sink.producer.sent[-1].item_id == made
