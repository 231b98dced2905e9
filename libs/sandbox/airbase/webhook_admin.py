"""The Airbase sandbox's webhook switches (``/airbase/_sandbox``), standing in for the portal.

``PUT /webhooks`` sets a tenant's target (or every tenant's): ``url``, an optional
``secret`` (never shown again), ``duplicate_rate``, ``drop_rate``, ``shuffle`` and the
signature's header name and prefix; ``POST /webhooks/flush`` sends held (shuffled) events,
``POST /webhooks/drain`` also waits for deliveries under way, ``GET /webhooks/events``
lists events with their outcome, ``POST /events`` sends an event the sandbox does not make
itself (``purchase_request_approved``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from sandbox.airbase.config import WebhookTarget
from sandbox.airbase.state import AirbaseState


class WebhookSetting(WebhookTarget):
    tenant: str | None = None
    """None: every tenant."""


class Event(BaseModel):
    tenant: str
    type: str
    data: dict[str, Any]


def build_webhook_admin_router(state: AirbaseState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.put("/webhooks")
    async def set_webhooks(setting: WebhookSetting) -> dict[str, Any]:
        tenants = [setting.tenant] if setting.tenant is not None else list(state.tenants)
        target = WebhookTarget.model_validate(setting.model_dump(exclude={"tenant"}))
        for tenant in tenants:
            state.tenant(tenant)
            state.webhooks.targets[tenant] = target
        return {tenant: target.view() for tenant in tenants}

    @router.get("/webhooks")
    async def webhooks() -> dict[str, Any]:
        targets = {t: target.view() for t, target in state.webhooks.targets.items()}
        return {"targets": targets, "stats": dict(state.webhooks.stats)}

    @router.post("/webhooks/flush")
    async def flush() -> dict[str, int]:
        return {"sent": state.webhooks.flush()}

    @router.post("/webhooks/drain")
    async def drain() -> dict[str, Any]:
        await state.webhooks.drain()
        return dict(state.webhooks.stats)

    @router.get("/webhooks/events")
    async def events() -> list[dict[str, Any]]:
        return [record.view() for record in state.webhooks.log]

    @router.post("/events", status_code=202)
    async def send_event(event: Event) -> dict[str, Any]:
        state.tenant(event.tenant)
        state.publish(event.tenant, event.type, event.data)
        return {"published": state.webhooks.stats["published"]}

    return router
