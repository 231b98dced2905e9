"""The BILL sandbox's webhook admin (``/bill/_sandbox``): switches, outcomes, BILL's disabling.

``PATCH /webhooks`` sets the delivery mode (``once`` or ``retry``), the dropped share and
the retry delays; ``POST /webhooks/drain`` waits for deliveries under way, retries
included; ``GET /webhooks/events`` lists every event with its outcome and sandbox times;
``POST /subscriptions/{id}/disable`` does what BILL does once a delivery's retries run out.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sandbox.bill.config import DeliveryMode
from sandbox.bill.errors import NOT_FOUND, BillApiError
from sandbox.bill.state import BillState


class WebhookSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: DeliveryMode | None = None
    drop_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    retry_delays_seconds: list[float] | None = Field(default=None, max_length=20)


def build_webhook_admin_router(state: BillState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.get("/webhooks")
    async def webhooks() -> dict[str, Any]:
        return {
            "mode": state.webhooks.config.mode,
            "drop_rate": state.webhooks.config.drop_rate,
            "subscriptions": [
                {**s.view(), "disabledByBill": s.disabled_by_bill}
                for s in state.subscriptions.everything()
            ],
            "stats": dict(state.webhooks.stats),
        }

    @router.patch("/webhooks")
    async def switch_webhooks(switch: WebhookSwitch) -> dict[str, Any]:
        updates = switch.model_dump(exclude_none=True)
        state.webhooks.config = state.webhooks.config.model_copy(update=updates)
        return state.webhooks.config.model_dump(mode="json")

    @router.post("/webhooks/drain")
    async def drain() -> dict[str, Any]:
        await state.webhooks.drain()
        return dict(state.webhooks.stats)

    @router.get("/webhooks/events")
    async def events() -> list[dict[str, Any]]:
        return [entry.view() for entry in state.webhooks.log]

    @router.post("/subscriptions/{subscription_id}/disable")
    async def disable(subscription_id: str) -> dict[str, Any]:
        for subscription in state.subscriptions.everything():
            if subscription.id == subscription_id:
                state.subscriptions.disable(subscription, state.clock.now())
                return subscription.view()
        raise BillApiError(NOT_FOUND, f"subscription {subscription_id} not found")

    return router
