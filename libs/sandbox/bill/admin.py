"""The BILL sandbox admin API (``/bill/_sandbox``): what a BILL user or BILL itself does.

A person in BILL's UI creates, changes, archives and restores vendors and bills
(``/organizations/{org}/vendors|bills``), which fires the webhooks; BILL ends sessions
(``POST /sessions/expire``) or disables a subscription after failed deliveries
(``POST /subscriptions/{id}/disable``, in ``sandbox.bill.webhook_admin`` with the webhook
switches). Tests change limits (``PATCH /limits``), inject faults and read statistics
(``GET /stats``: logins per organization, refusals per code, the most calls ever in flight
per organization). No route ever shows a securityKey, a password or a devKey.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sandbox.bill.api import entity_of
from sandbox.bill.errors import NOT_FOUND, BillApiError
from sandbox.bill.state import BillState
from sandbox.faults import add_fault_routes


class Expiry(BaseModel):
    organization_id: str | None = None


class LimitsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    logins_per_hour: int | None = Field(default=None, gt=0)
    requests_per_hour: int | None = Field(default=None, gt=0)
    concurrent_requests: int | None = Field(default=None, gt=0)
    request_latency_seconds: float | None = Field(default=None, ge=0, le=10)


def change_limits(state: BillState, change: LimitsChange) -> dict[str, Any]:
    if change.logins_per_hour is not None:
        state.sessions.logins.limit = change.logins_per_hour
    if change.requests_per_hour is not None:
        state.requests.limit = change.requests_per_hour
    if change.concurrent_requests is not None:
        state.gate.limit = change.concurrent_requests
    if change.request_latency_seconds is not None:
        state.config = state.config.model_copy(
            update={"request_latency_seconds": change.request_latency_seconds}
        )
    return {
        "logins_per_hour": state.sessions.logins.limit,
        "requests_per_hour": state.requests.limit,
        "concurrent_requests": state.gate.limit,
        "request_latency_seconds": state.config.request_latency_seconds,
    }


def build_admin_router(state: BillState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")
    add_fault_routes(router, state.faults)

    @router.get("/organizations")
    async def organizations() -> list[dict[str, Any]]:
        return [{"id": o.id, "name": o.name} for o in state.config.organizations]

    @router.get("/organizations/{organization_id}/{collection}")
    async def every_record(organization_id: str, collection: str) -> list[dict[str, Any]]:
        return state.records.organization(organization_id).list(entity_of(collection))

    @router.post("/organizations/{organization_id}/{collection}", status_code=201)
    async def create(
        organization_id: str, collection: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        return state.create(organization_id, entity_of(collection), fields)

    @router.patch("/organizations/{organization_id}/{collection}/{record_id}")
    async def change(
        organization_id: str, collection: str, record_id: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        return state.change(organization_id, entity_of(collection), record_id, fields)

    @router.post("/organizations/{organization_id}/{collection}/{record_id}/{action}")
    async def archive(
        organization_id: str, collection: str, record_id: str, action: str
    ) -> dict[str, Any]:
        if action not in ("archive", "restore"):
            raise BillApiError(NOT_FOUND, f"no such action: {action}")
        entity = entity_of(collection)
        return state.archive(organization_id, entity, record_id, archived=action == "archive")

    @router.post("/sessions/expire")
    async def expire(expiry: Expiry) -> dict[str, Any]:
        return {"expired": state.sessions.expire(expiry.organization_id)}

    @router.patch("/limits")
    async def limits(change: LimitsChange) -> dict[str, Any]:
        return change_limits(state, change)

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        return state.stats()

    return router
