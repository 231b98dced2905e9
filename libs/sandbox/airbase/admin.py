"""The Airbase sandbox's admin API (``/airbase/_sandbox``, no auth): what an approver,
the portal or a test does (webhook switches: ``sandbox.airbase.webhook_admin``).

An approver approves a bill (``POST /bills/{airbase_id}/approve``) or rejects it
(``…/reject``) and pays an approved one (``POST /bills/{airbase_id}/pay`` with an optional
``{amount, payment_date, lines: [{amount, account, department}]}``), which makes the ledger
entry; ``POST /ledger_entries`` makes an entry of another kind (a card spend). ``GET
/{resource}?tenant=`` shows every record of any status with its write counters; ``PUT
/profile`` switches paths and field names; ``PATCH /limits`` the hourly budget; faults under
``/faults``. No route shows a token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sandbox.airbase.errors import not_found
from sandbox.airbase.payments import OtherEntry, Payment
from sandbox.airbase.profile import AirbaseProfile
from sandbox.airbase.records import view
from sandbox.airbase.resources import RESOURCES
from sandbox.airbase.state import AirbaseState
from sandbox.faults import add_fault_routes


class LimitsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests_per_hour: int = Field(gt=0)


def build_admin_router(state: AirbaseState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")
    add_fault_routes(router, state.faults)
    _add_approver_routes(router, state)
    _add_switches(router, state)
    _add_records_routes(router, state)
    return router


def _add_approver_routes(router: APIRouter, state: AirbaseState) -> None:

    @router.post("/bills/{airbase_id}/approve")
    async def approve(airbase_id: str) -> dict[str, Any]:
        return view(RESOURCES["bills"], state.approve(airbase_id))

    @router.post("/bills/{airbase_id}/reject")
    async def reject(airbase_id: str) -> dict[str, Any]:
        return view(RESOURCES["bills"], state.approve(airbase_id, approved=False))

    @router.post("/bills/{airbase_id}/pay", status_code=201)
    async def pay(airbase_id: str, payment: Payment | None = None) -> dict[str, Any]:
        return view(RESOURCES["ledger_entries"], state.pay(airbase_id, payment or Payment()))

    @router.post("/ledger_entries", status_code=201)
    async def other_entry(other: OtherEntry) -> dict[str, Any]:
        return view(RESOURCES["ledger_entries"], state.add_entry(other))


def _add_switches(router: APIRouter, state: AirbaseState) -> None:
    @router.get("/profile")
    async def profile() -> dict[str, Any]:
        return {**state.profile.model_dump(), "resolved_paths": state.profile.resolved_paths()}

    @router.put("/profile")
    async def set_profile(profile: AirbaseProfile) -> dict[str, Any]:
        state.profile = profile
        return {**profile.model_dump(), "resolved_paths": profile.resolved_paths()}

    @router.patch("/limits")
    async def limits(change: LimitsChange) -> dict[str, int]:
        state.budget.limit = change.requests_per_hour
        return {"requests_per_hour": state.budget.limit}

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        return {
            "requests_total": state.budget.total,
            "throttled": state.budget.refused,
            "webhooks": dict(state.webhooks.stats),
            "faults_fired": state.faults.fired_by_status,
            "writes": sum(
                sum(counter.values())
                for records in state.tenants.values()
                for counter in (*records.creates.values(), *records.updates.values())
            ),
        }


def _add_records_routes(router: APIRouter, state: AirbaseState) -> None:
    @router.get("/{resource}")
    async def everything(resource: str, tenant: str) -> dict[str, Any]:
        if resource not in RESOURCES:
            raise not_found()
        records = state.tenant(tenant)
        return {
            "tenant": tenant,
            "resource": resource,
            "records": records.every(resource),
            "counters": records.counters(resource),
        }
