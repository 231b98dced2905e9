"""The boards the sink writes to: each tenant's client and each board's bound column mapping.

Built once at start (every mapping checked against its board's real columns), then asked per
command: a board without a mapping is a configuration gap, so its commands are dead-lettered
with a message saying what to add (a redrive after the fix writes them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from chassis.errors import PermanentError
from events.commands import CreateMondayItem
from monday_sink.ports import BoardItems, BoardMapping

Binder = Callable[[str, BoardItems], Awaitable[BoardMapping]]
"""Reads one board (by id, with the tenant's client) and binds its mapping to it."""


class UnmappedBoardError(PermanentError):
    """A command names a board (or tenant) the sink has no mapping or token for."""


@dataclass(frozen=True)
class MappedBoard:
    tenant_id: str
    board_id: str
    items: BoardItems
    """The tenant's client (its token)."""
    mapping: BoardMapping

    def values(self, command: CreateMondayItem) -> dict[str, object]:
        """The command's column values; the Visma ID column holds its Visma id."""
        return self.mapping.render(command.fields, visma_id=command.visma_id)

    def item_name(self, command: CreateMondayItem) -> str:
        """The board's own naming of its items (the mapping's template), or the command's
        name for a command without fields (written before they were carried)."""
        return self.mapping.item_name(command.fields) if command.fields else command.item_name

    async def ping(self) -> None:
        await self.items.board(self.board_id)


class MappedBoards:
    def __init__(self, boards: Mapping[tuple[str, str], MappedBoard]) -> None:
        """`boards`: (tenant, board id) -> the mapped board."""
        self._boards = dict(boards)

    def of(self, command: CreateMondayItem) -> MappedBoard:
        found = self._boards.get((command.tenant_id, command.board_id))
        if found is None:
            raise UnmappedBoardError(
                f"board {command.board_id} of tenant {command.tenant_id} has no column mapping "
                "in the monday-sink's configuration: map it (mlc monday map --board "
                f"{command.board_id}), restart the sink and redrive the DLQ"
            )
        return found

    def add(self, board: MappedBoard) -> None:
        self._boards[(board.tenant_id, board.board_id)] = board

    def use(self, tenant: str, items: BoardItems) -> None:
        """The tenant's boards call through `items` from now on (its token was replaced)."""
        for key, board in self._boards.items():
            if board.tenant_id == tenant:
                self._boards[key] = replace(board, items=items)

    def __iter__(self) -> Iterator[MappedBoard]:
        return iter(self._boards.values())

    async def bind(
        self, tenant: str, items: BoardItems, boards: Sequence[str], bind: Binder
    ) -> None:
        """Reads and binds each of a tenant's mapped boards, in order; the first that cannot
        work raises its `MappingError` (naming board, column and field), which stops the
        start before any command is read."""
        for board in boards:
            self.add(MappedBoard(tenant, board, items, await bind(board, items)))
