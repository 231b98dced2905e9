"""Admin routes for every entity type and for webhook subscriptions.

``/entities/{entity}`` lists and creates records, ``PATCH`` changes fields (bumping
``lastModifiedDateTime`` to the sandbox clock and issuing a new ``timeStamp``), ``touch``
changes n random records for load tests, and ``change-after-read`` plays another user saving
a record just after the next public GET of it (a writer's read is then stale). Each create
or change is announced to the webhook subscriptions registered under ``/webhooks``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from sandbox.visma.entities import ENTITY_SPECS, EntitySpec, find_spec
from sandbox.visma.seeding import CannotCreate
from sandbox.visma.state import VismaState
from sandbox.visma.store import Record, record_dto
from sandbox.visma.webhooks import WebhookSubscription


class EntityCreate(BaseModel):
    company: str
    fields: dict[str, Any] = Field(default_factory=dict)


class ChangeAfterRead(BaseModel):
    key: str
    """The record's id as the single GET takes it, e.g. `Payment:SP000031`."""
    fields: dict[str, Any] = Field(default_factory=dict)
    """What the other user changes; none: only a new `timeStamp`."""


class TouchRequest(BaseModel):
    count: int = Field(default=1, ge=0, le=1_000_000)


def spec_or_404(entity: str) -> EntitySpec:
    spec = find_spec(entity)
    if spec is None:
        raise HTTPException(404, f"unknown entity {entity}")
    return spec


def company_or_404(state: VismaState, company: str) -> str:
    if company not in state.config.tenants:
        raise HTTPException(404, f"unknown company {company}")
    return company


def entity_view(state: VismaState, record: Record) -> dict[str, object]:
    dto = record_dto(record, total_count=1, max_page_size=state.config.max_page_size)
    return {"company": record.company, "entityId": record.entity_id, **dto}


def create_record(
    state: VismaState, spec: EntitySpec, company: str, fields: dict[str, Any]
) -> Record:
    try:
        return state.create(spec, company_or_404(state, company), fields)
    except CannotCreate as exc:
        raise HTTPException(409, str(exc)) from exc


def add_entity_routes(router: APIRouter, state: VismaState) -> None:
    @router.get("/entities")
    async def entity_types() -> list[dict[str, object]]:
        return [
            {"entity": s.name, "route": s.route, "idFields": list(s.id_fields)}
            for s in ENTITY_SPECS
        ]

    @router.get("/entities/{entity}")
    async def list_entities(entity: str, company: str | None = None) -> list[dict[str, object]]:
        spec = spec_or_404(entity)
        companies = [company] if company else state.store.companies(spec.name)
        return [entity_view(state, r) for c in companies for r in state.store.list(spec.name, c)]

    @router.post("/entities/{entity}", status_code=201)
    async def create_entity(entity: str, body: EntityCreate) -> dict[str, object]:
        record = create_record(state, spec_or_404(entity), body.company, body.fields)
        return entity_view(state, record)

    @router.patch("/entities/{entity}/{company}/{key:path}")
    async def change_entity(entity: str, company: str, key: str, body: dict[str, Any]) -> Any:
        spec = spec_or_404(entity)
        record = state.store.get(spec.name, company, key)
        if record is None:
            raise HTTPException(404, f"no {spec.name} {key} in {company}")
        renamed = [f for f in spec.id_fields if f in body and body[f] != record.fields[f]]
        if renamed:
            raise HTTPException(400, f"id fields cannot change: {', '.join(renamed)}")
        return entity_view(state, state.change(record, body))

    @router.post("/entities/{entity}/{company}/change-after-read")
    async def change_after_read(entity: str, company: str, body: ChangeAfterRead) -> Any:
        """Someone else changes the record just after the next public GET of it answers."""
        spec = spec_or_404(entity)
        record = state.store.get(spec.name, company, body.key)
        if record is None:
            raise HTTPException(404, f"no {spec.name} {body.key} in {company}")
        state.change_after_next_read(record, body.fields)
        return {"entityId": record.entity_id, "armed": body.fields, "timeStamp": record.timestamp}

    @router.post("/entities/{entity}/{company}/touch")
    async def touch_entities(entity: str, company: str, body: TouchRequest) -> dict[str, object]:
        spec = spec_or_404(entity)
        changed = state.touch_random(spec, company_or_404(state, company), body.count)
        return {"entity": spec.name, "company": company, "changed": [r.entity_id for r in changed]}


def add_webhook_routes(router: APIRouter, state: VismaState) -> None:
    hooks = state.webhooks

    @router.post("/webhooks", status_code=201)
    async def subscribe(body: WebhookSubscription) -> dict[str, object]:
        unknown = [e for e in body.entities or [] if find_spec(e) is None]
        if unknown:
            raise HTTPException(400, f"unknown entities: {', '.join(unknown)}")
        if body.entities is not None:
            body.entities = [spec_or_404(e).name for e in body.entities]
        hooks.subscriptions.append(body)
        return body.describe()

    @router.get("/webhooks")
    async def subscriptions() -> list[dict[str, object]]:
        return [s.describe() for s in hooks.subscriptions]

    @router.delete("/webhooks")
    async def unsubscribe_all() -> dict[str, object]:
        hooks.subscriptions.clear()
        return {"ok": True}
