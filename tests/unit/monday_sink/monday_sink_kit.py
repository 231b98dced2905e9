"""In-memory stand-ins for the monday-sink's unit tests: a monday account, a column mapping,
a producer that confirms at once, and command records."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chassis.kafka.producer import Delivery
from chassis.kafka.record import Record
from chassis.serde import AvroSerde, SchemaCatalog
from events.commands import CreateMondayItem
from events.monday_deliveries import MondayDelivery
from monday_client import MondayDailyLimitReached, MondayInvalidInput

SERDE = AvroSerde(SchemaCatalog.load())
TOPIC = "sink.monday.v1"
TENANT, BOARD = "tenant-se-1", "1000000001"
VISMA_COLUMN = "text_visma_id"


class Producer:
    """What the ledger needs of an EventProducer: confirmed at once, kept in memory."""

    def __init__(self) -> None:
        self.sent: list[MondayDelivery] = []

    def send(self, topic: str, *, key: str, value: bytes | None, partition: int) -> Delivery:
        assert value is not None, "nothing expires in these tests"
        self.sent.append(MondayDelivery.from_record(SERDE.decode(value)[1]))
        delivered: Delivery = Future()
        delivered.set_result(None)
        return delivered


class Audit:
    """The audit trail in memory; each event keeps how many ledger entries were written
    before it (`ledger_writes`), and its delivery is confirmed at once."""

    def __init__(self, producer: Producer | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self._producer = producer

    def record(self, stage: Any, *, entity_id: str, **fields: str | None) -> Delivery:
        written = len(self._producer.sent) if self._producer else None
        self.events.append(
            {"stage": str(stage), "entity_id": entity_id, "ledger_writes": written, **fields}
        )
        delivered: Delivery = Future()
        delivered.set_result(None)
        return delivered


def daily_limit(retry_after: float) -> MondayDailyLimitReached:
    resets_at = datetime.now(UTC) + timedelta(seconds=retry_after)
    return MondayDailyLimitReached("Daily limit exceeded", resets_at=resets_at,
                                   retry_after=retry_after)  # fmt: skip


class Monday:
    """A monday account's boards in memory, answering as the sink's port says; `refuse`
    makes calls raise the daily limit while it is set."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.boards: dict[str, Board] = {}
        self.calls: list[str] = []
        self.refuse: float | None = None
        self._ids = itertools.count(5001)
        self.in_flight = 0
        self.most_in_flight = 0
        self._called = asyncio.Condition()

    async def called(self, name: str, times: int) -> None:
        """Returns once `name` has been called `times` times (a watcher has probed)."""
        async with self._called:
            await self._called.wait_for(lambda: self.calls.count(name) >= times)

    async def _call(self, name: str) -> None:
        self.calls.append(name)
        async with self._called:
            self._called.notify_all()
        if self.refuse is not None:
            raise daily_limit(self.refuse)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1

    async def create_item(
        self, board_id: str, *, item_name: str, group_id: str | None = None,
        column_values: Mapping[str, object], create_labels_if_missing: bool = False,
    ) -> str:  # fmt: skip
        await self._call("create_item")
        item = str(next(self._ids))
        self.items[item] = {"board": board_id, "name": item_name, "values": dict(column_values)}
        return item

    async def change_column_values(
        self, board_id: str, item_id: str, column_values: Mapping[str, object], *,
        create_labels_if_missing: bool = False,
    ) -> None:  # fmt: skip
        await self._call("change_column_values")
        self._item(item_id)["values"].update(column_values)

    async def change_many(
        self, board_id: str, updates: Sequence[tuple[str, Mapping[str, object]]], *,
        create_labels_if_missing: bool = False,
    ) -> None:  # fmt: skip
        await self._call("change_many")
        for item, values in updates:  # monday runs aliases in order; a failed one stops here
            self._item(item)["values"].update(values)

    def _item(self, item_id: str) -> dict[str, Any]:
        if item_id not in self.items:
            raise MondayInvalidInput(
                "monday refused the call: InvalidItemIdException: Item not found in board",
                code="InvalidItemIdException", error_data={"item_id": item_id},
            )  # fmt: skip
        return self.items[item_id]

    async def find_items(self, board_id: str, *, column_id: str, value: str) -> list[Found]:
        await self._call("find_items")
        return [
            Found(i) for i, item in self.items.items()
            if item["board"] == board_id and item["values"].get(column_id) == value
        ]  # fmt: skip

    async def board(self, board_id: str) -> Board:
        await self._call("board")
        return self.boards.get(board_id) or Board(board_id, f"Board {board_id}", ())

    def on_board(self, board_id: str) -> list[dict[str, Any]]:
        return [item for item in self.items.values() if item["board"] == board_id]


@dataclass(frozen=True)
class Found:
    id: str


@dataclass(frozen=True)
class Column:
    id: str
    title: str
    type: str
    settings_str: str | None = None


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    columns: tuple[Column, ...]


class Mapping_:
    """A board mapping: field `reference` to a text column, `total` to a numbers column."""

    visma_id_column = VISMA_COLUMN
    create_labels_if_missing = False

    def render(
        self, fields: Mapping[str, str], *, visma_id: str | None = None
    ) -> dict[str, object]:
        values: dict[str, object] = {
            "text_invoice": fields.get("reference", ""), "numbers_amount": fields.get("total")
        }  # fmt: skip
        if visma_id is not None:
            values[VISMA_COLUMN] = visma_id
        return values

    def item_name(self, fields: Mapping[str, str]) -> str:
        return f"Invoice {fields.get('reference')}"


def command(
    visma: str | None, version: int, *, board: str = BOARD, total: str = "10.00"
) -> CreateMondayItem:
    return CreateMondayItem(
        command_id=f"cmd-{visma}-{version}-{board}",
        tenant_id=TENANT,
        rule="monday-invoices",
        source_event_id=f"evt-{visma}-{version}",
        entity_type="supplierInvoice",
        entity_id=f"{TENANT}/1/supplierInvoice/{visma}",
        created_at=datetime.now(UTC),
        board_id=board,
        item_name=f"Invoice {visma}",
        body="",
        visma_id=visma,
        fields={"reference": str(visma), "total": total},
    )


_offsets = itertools.count()


def record(cmd: CreateMondayItem) -> Record:
    value = SERDE.encode(cmd.SCHEMA, cmd.to_record())
    return Record(
        topic=TOPIC, partition=0, offset=next(_offsets), key=cmd.key, raw=value, headers=[],
        schema=cmd.SCHEMA, value=SERDE.decode(value)[1],
    )  # fmt: skip
