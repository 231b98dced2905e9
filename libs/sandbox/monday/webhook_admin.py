"""The monday sandbox's webhook admin (``/monday/_sandbox``): what a person or monday does.

``POST /webhooks`` registers a board webhook (with the challenge, like ``create_webhook``),
``PATCH /webhooks {"drop": true}`` loses every event from then on so reconciliation can be
tested, ``POST /webhooks/drain`` waits for deliveries under way, and
``POST /boards/{id}/items/{item}/change`` changes one cell as a warehouse user would in
monday's UI, which fires the board's webhooks.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sandbox.monday.columns import render_text
from sandbox.monday.state import MondayState
from sandbox.monday.webhooks import COLUMN_EVENTS


class WebhookSeed(BaseModel):
    board_id: str
    url: str
    event: str = Field(pattern="^(create_item|" + "|".join(sorted(COLUMN_EVENTS)) + ")$")
    config: dict[str, Any] | None = None


class WebhookSwitch(BaseModel):
    drop: bool


class WarehouseChange(BaseModel):
    """A person changing one cell in monday's UI: a label, a date, a text."""

    column_id: str
    value: Any


def build_webhook_admin_router(state: MondayState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.post("/webhooks")
    async def add_webhook(seed: WebhookSeed) -> dict[str, Any]:
        board = state.board(seed.board_id)
        hook = await state.webhooks.register(board.id, seed.url, seed.event, seed.config)
        return {**hook.as_dict(), "url": hook.url}

    @router.get("/webhooks")
    async def list_webhooks() -> dict[str, Any]:
        return {
            "webhooks": [{**h.as_dict(), "url": h.url} for h in state.webhooks.hooks],
            "drop": state.webhooks.drop,
            "stats": dict(state.webhooks.stats),
        }

    @router.patch("/webhooks")
    async def switch_webhooks(switch: WebhookSwitch) -> dict[str, Any]:
        state.webhooks.drop = switch.drop
        return {"drop": state.webhooks.drop}

    @router.post("/webhooks/drain")
    async def drain_webhooks() -> dict[str, Any]:
        await state.webhooks.drain()
        return dict(state.webhooks.stats)

    @router.post("/boards/{board_id}/items/{item_id}/change")
    async def change_as_user(
        board_id: str, item_id: str, change: WarehouseChange
    ) -> dict[str, Any]:
        board = state.board(board_id)
        item = board.items.get(item_id) or state.item(item_id)
        state.write_values(board, item, {change.column_id: change.value}, create_labels=False)
        column = board.column(change.column_id)
        return {"id": item.id, change.column_id: render_text(column, item.values.get(column.id))}

    return router
