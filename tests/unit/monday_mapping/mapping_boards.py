"""Boards as monday describes them (id, title, type, settings_str), for the mapping tests:
the sandbox's seeded procurement board, and boards built column by column."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.monday.columns import Column as SandboxColumn
from sandbox.monday.state import PROCUREMENT_COLUMNS


@dataclass(frozen=True)
class Col:
    id: str
    title: str
    type: str
    settings_str: str = "{}"


@dataclass(frozen=True)
class Brd:
    id: str
    name: str
    columns: tuple[Col, ...]


def procurement_board(board_id: str = "1000000001") -> Brd:
    """The sandbox's seeded board: 'Invoice ', ' supplier name', 'AMOUNT', 'Due  date'..."""
    return Brd(
        board_id,
        "Procurement",
        tuple(
            Col(cid, title, kind, SandboxColumn(cid, title, kind, list(labels)).settings_str())
            for cid, title, kind, labels in PROCUREMENT_COLUMNS
        ),
    )


def board(*columns: tuple[str, str, str], board_id: str = "42", name: str = "Test") -> Brd:
    return Brd(board_id, name, tuple(Col(cid, title, kind) for cid, title, kind in columns))
