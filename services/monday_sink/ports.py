"""What the sink needs of a tenant's monday client and of a board's column mapping.

The delivery logic is written against these two small interfaces, so unit tests hand it
in-memory fakes and the composition root hands it `monday_client.MondayClient` and the
mappings bound at start (`monday_sink.mapping.BoundMapping`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from monday_sink.mapping import BoardShape


class FoundItem(Protocol):
    @property
    def id(self) -> str: ...


class BoardItems(Protocol):
    """One tenant's monday account (its token), as the sink uses it."""

    async def create_item(
        self,
        board_id: str,
        *,
        item_name: str,
        group_id: str | None = None,
        column_values: Mapping[str, object],
        create_labels_if_missing: bool = False,
    ) -> str:
        """Creates an item; returns its id."""
        ...

    async def change_column_values(
        self,
        board_id: str,
        item_id: str,
        column_values: Mapping[str, object],
        *,
        create_labels_if_missing: bool = False,
    ) -> None: ...

    async def change_many(
        self,
        board_id: str,
        updates: Sequence[tuple[str, Mapping[str, object]]],
        *,
        create_labels_if_missing: bool = False,
    ) -> None:
        """Several (item id, column values) changes, aliased in as few requests as fit."""
        ...

    async def find_items(self, board_id: str, *, column_id: str, value: str) -> Sequence[FoundItem]:
        """The board's items whose column holds `value`."""
        ...

    async def board(self, board_id: str) -> BoardShape:
        """The board's columns (the sink's cheapest call: it probes a held token with it)."""
        ...


class BoardMapping(Protocol):
    """A board's column mapping, checked against the board's real columns at start."""

    @property
    def visma_id_column(self) -> str: ...

    @property
    def create_labels_if_missing(self) -> bool: ...

    def render(
        self, fields: Mapping[str, str], *, visma_id: str | None = None
    ) -> dict[str, object]: ...

    def item_name(self, fields: Mapping[str, str]) -> str: ...
