"""The monday sandbox admin API (``/monday/_sandbox``): seed boards, read items, set limits.

Tests and the demo add boards (``POST /boards``), read a board's items with their column
values (``GET /boards/{id}/items``), change limits (``PATCH /limits``), inject faults
(``/faults``) and read statistics (``GET /stats``: the most mutations ever in flight per
board, refusals per error code).
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sandbox.faults import add_fault_routes
from sandbox.monday.columns import render_text
from sandbox.monday.schema import VALUE_TYPES
from sandbox.monday.state import MondayState


class ColumnSeed(BaseModel):
    id: str
    title: str
    type: str = Field(pattern="^(" + "|".join(VALUE_TYPES) + ")$")
    labels: list[str] = Field(default_factory=list)


class BoardSeed(BaseModel):
    name: str
    columns: list[ColumnSeed]


class LimitsChange(BaseModel):
    complexity_budget_per_minute: int | None = Field(default=None, gt=0)
    calls_per_minute: int | None = Field(default=None, gt=0)
    daily_call_limit: int | None = Field(default=None, gt=0)
    max_concurrent_requests: int | None = Field(default=None, gt=0)


def apply_limits(state: MondayState, change: LimitsChange) -> dict[str, object]:
    limits = state.limits
    limits.budget_per_minute = change.complexity_budget_per_minute or limits.budget_per_minute
    limits.calls_per_minute = change.calls_per_minute or limits.calls_per_minute
    limits.daily_calls = change.daily_call_limit or limits.daily_calls
    if change.max_concurrent_requests is not None:
        state.config = state.config.model_copy(
            update={"max_concurrent_requests": change.max_concurrent_requests}
        )
    return {
        "complexity_budget_per_minute": limits.budget_per_minute,
        "calls_per_minute": limits.calls_per_minute,
        "daily_call_limit": limits.daily_calls,
        "max_concurrent_requests": state.config.max_concurrent_requests,
    }


def build_admin_router(state: MondayState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.post("/boards")
    async def add_board(seed: BoardSeed) -> dict[str, object]:
        columns = tuple((c.id, c.title, c.type, tuple(c.labels)) for c in seed.columns)
        board = state.add_board(seed.name, columns)
        return {"id": board.id, "name": board.name}

    @router.get("/boards")
    async def list_boards() -> list[dict[str, object]]:
        return [{"id": b.id, "name": b.name, "items": len(b.items)} for b in state.boards.values()]

    @router.get("/boards/{board_id}/items")
    async def list_items(board_id: str) -> list[dict[str, object]]:
        board = state.board(board_id)
        return [
            {
                "id": item.id,
                "name": item.name,
                "group_id": item.group_id,
                "values": {
                    c.id: render_text(c, item.values.get(c.id))
                    for c in board.columns
                    if item.values.get(c.id) is not None
                },
            }
            for item in board.items.values()
        ]

    @router.patch("/limits")
    async def change_limits(change: LimitsChange) -> dict[str, object]:
        return apply_limits(state, change)

    @router.get("/stats")
    async def stats() -> dict[str, object]:
        return {
            "max_mutations_in_flight": dict(state.max_in_flight),
            "items_created": dict(state.items_created),
            "item_updates": dict(state.item_updates),
            "refusals": dict(state.refusals),
            "usage": state.limits.snapshot(),
            "api_versions": sorted(state.api_versions),
        }

    add_fault_routes(router, state.faults)
    return router
