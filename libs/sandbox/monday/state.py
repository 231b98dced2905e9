"""The simulated monday account: boards, groups, columns, items and their column values.

Ids are numeric strings like monday's. Items are kept in id order, so an ``items_page``
cursor (the last id seen, on the sandbox clock with monday's 60-minute life) pages through
a board while items are created or changed: nothing already there is skipped or repeated.
``mutations_in_flight`` records, per board, the most mutations ever running at once: the
sink must keep it at 1, since monday warns that concurrent mutations on a board conflict.
"""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from sandbox.clock import SandboxClock
from sandbox.faults import FaultInjector
from sandbox.monday.columns import Column, parse_value, webhook_value
from sandbox.monday.config import MondayConfig
from sandbox.monday.errors import MondayApplicationError
from sandbox.monday.limits import TokenLimits
from sandbox.monday.webhooks import MondayWebhooks

# The seed's procurement board: twelve columns, some titles with odd case and spacing.
PROCUREMENT_COLUMNS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("text_visma_id", "Visma ID", "text", ()),
    ("text_invoice", "Invoice ", "text", ()),
    ("text_supplier", " supplier name", "text", ()),
    ("numbers_amount", "AMOUNT", "numbers", ()),
    ("text_currency", "Currency", "text", ()),
    ("date_due", "Due  date", "date", ()),
    ("status_receipt", "Receipt", "status", ("Pending", "Received", "Rejected")),
    ("status_approval", "Approval", "status", ("Waiting", "Approved")),
    ("link_document", "Document", "link", ()),
    ("dropdown_dimension", "Dimension", "dropdown", ("Sales", "Ops", "Finance")),
    ("long_text_notes", "Notes", "long_text", ()),
    ("email_contact", "Contact e-mail", "email", ()),
)


@dataclass
class Item:
    id: str
    board_id: str
    group_id: str
    name: str
    created_at: datetime
    updated_at: datetime
    values: dict[str, object] = field(default_factory=dict)


@dataclass
class Board:
    id: str
    name: str
    columns: list[Column]
    groups: list[tuple[str, str]]
    items: dict[str, Item] = field(default_factory=dict)

    def column(self, column_id: str) -> Column:
        for column in self.columns:
            if column.id == column_id:
                return column
        raise MondayApplicationError(
            f"This column ID doesn't exist for the board: {column_id}",
            code="InvalidColumnIdException",
            column_id=column_id,
        )


class MondayState:
    def __init__(
        self,
        config: MondayConfig,
        clock: SandboxClock,
        *,
        webhook_client: httpx.AsyncClient | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config
        self.clock = clock
        self.webhooks = MondayWebhooks(config, clock, client=webhook_client)
        self.faults = FaultInjector(seed=seed, clock=clock)
        self.limits = TokenLimits(
            clock,
            budget_per_minute=config.complexity_budget_per_minute,
            calls_per_minute=config.calls_per_minute,
            daily_calls=config.daily_call_limit,
        )
        self.boards: dict[str, Board] = {}
        self._ids = itertools.count(1_000_000_001)
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.items_created: dict[str, int] = {}
        """Per board: items made by `create_item`."""
        self.item_updates: dict[str, int] = {}
        """Per board: changes of existing items through the API (a warehouse user's change
        through the admin route is not counted): what a sink updated."""
        self.requests_in_flight = 0
        self.refusals: dict[str, int] = {}
        self.api_versions: set[str] = set()
        if config.seed_procurement_board:
            self.add_board("Procurement", PROCUREMENT_COLUMNS)

    def next_id(self) -> str:
        return str(next(self._ids))

    def add_board(
        self, name: str, columns: tuple[tuple[str, str, str, tuple[str, ...]], ...]
    ) -> Board:
        board = Board(
            id=self.next_id(),
            name=name,
            columns=[
                Column(cid, title, kind, list(labels)) for cid, title, kind, labels in columns
            ],
            groups=[("topics", "Group Title")],
        )
        self.boards[board.id] = board
        return board

    def board(self, board_id: str) -> Board:
        board = self.boards.get(str(board_id))
        if board is None:
            raise MondayApplicationError(
                "Board not found", code="InvalidBoardIdException", board_id=board_id
            )
        return board

    def item(self, item_id: str) -> Item:
        for board in self.boards.values():
            if str(item_id) in board.items:
                return board.items[str(item_id)]
        raise MondayApplicationError(
            "Item not found", code="InvalidItemIdException", item_id=item_id
        )

    def write_values(
        self, board: Board, item: Item, raw_values: dict[str, object], *, create_labels: bool
    ) -> None:
        """All or nothing: every value is parsed before any is stored; changes are announced."""
        parsed = {
            cid: parse_value(board.column(cid), raw, create_labels=create_labels)
            for cid, raw in raw_values.items()
        }
        previous = {cid: item.values.get(cid) for cid in parsed}
        item.values.update(parsed)
        item.updated_at = self.clock.now()
        if item.id not in board.items:
            return  # being created: create_item announces it once stored
        for cid, value in parsed.items():
            if value != previous[cid]:
                self._announce_change(board, item, board.column(cid), previous[cid])

    def _event(self, board: Board, item: Item, kind: str) -> dict[str, Any]:
        return {
            "app": "monday",
            "type": kind,
            "userId": 1,
            "originalTriggerUuid": None,
            "boardId": int(board.id),
            "pulseId": int(item.id),
            "pulseName": item.name,
            "groupId": item.group_id,
            "isTopGroup": True,
        }

    def _announce_change(self, board: Board, item: Item, column: Column, previous: object) -> None:
        event = {
            **self._event(board, item, "update_column_value"),
            "columnId": column.id,
            "columnType": column.type,
            "columnTitle": column.title,
            "value": webhook_value(column, item.values.get(column.id)),
            "previousValue": webhook_value(column, previous),
            "changedAt": self.clock.time(),
        }
        self.webhooks.publish(board.id, event, column_id=column.id, column_type=column.type)

    def create_item(
        self,
        board_id: str,
        name: str,
        *,
        group_id: str | None,
        values: dict[str, object],
        create_labels: bool,
    ) -> Item:
        board = self.board(board_id)
        groups = [gid for gid, _ in board.groups]
        if group_id is not None and group_id not in groups:
            raise MondayApplicationError(
                "Group not found", code="InvalidGroupIdException", group_id=group_id
            )
        now = self.clock.now()
        item = Item(self.next_id(), board.id, group_id or groups[0], name, now, now)
        self.write_values(board, item, values, create_labels=create_labels)
        board.items[item.id] = item
        self.items_created[board.id] = self.items_created.get(board.id, 0) + 1
        columns = {
            cid: webhook_value(board.column(cid), value) for cid, value in item.values.items()
        }
        self.webhooks.publish(
            board.id, {**self._event(board, item, "create_pulse"), "columnValues": columns}
        )
        return item

    def mutation_started(self, board_id: str) -> None:
        running = self.in_flight.get(board_id, 0) + 1
        self.in_flight[board_id] = running
        self.max_in_flight[board_id] = max(running, self.max_in_flight.get(board_id, 0))

    def mutation_ended(self, board_id: str) -> None:
        self.in_flight[board_id] -= 1

    def encode_cursor(self, board_id: str, after_id: str, query: dict[str, object]) -> str:
        payload = {"b": board_id, "a": after_id, "q": query, "t": self.clock.time()}
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()

    def decode_cursor(self, cursor: str) -> tuple[str, str, dict[str, object]]:
        try:
            payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            board_id, after_id, query, issued = (
                payload["b"],
                payload["a"],
                payload["q"],
                payload["t"],
            )
        except (ValueError, KeyError, TypeError):
            raise MondayApplicationError(
                "Invalid cursor", code="CursorException", cursor=cursor
            ) from None
        if self.clock.time() - float(issued) > self.config.cursor_ttl_seconds:
            raise MondayApplicationError("Cursor expired", code="CursorExpiredError")
        return str(board_id), str(after_id), dict(query)
