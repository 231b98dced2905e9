"""BILL's public v3 routes: ``/connect/v3`` (login, vendors, bills) and ``/connect-events/v3``.

Every call but login sends the headers ``devKey`` and ``sessionId``. In order: the devKey,
the session (idle expiry, forced expiry and logout answer the invalid-session error), the
hourly request limit per devKey (``BDC_1144``), then the concurrency cap per devKey and
organization (``BDC_1322``) held for the whole call. Lists take ``max`` (default 20, at
most 100), ``filters``, ``sort`` and ``page``; see ``sandbox.bill.paging``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.bill.errors import NOT_FOUND, BillApiError
from sandbox.bill.filters import invalid
from sandbox.bill.paging import ListQuery, check_sort, decode_token, read_page
from sandbox.bill.sessions import Credentials, Session
from sandbox.bill.state import BillState
from sandbox.bill.subscriptions import EVENT_TYPES, SubscriptionBody

ENTITIES = {"vendors": "vendor", "bills": "bill"}


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: str = Field(min_length=1)
    password: str = Field(min_length=1)
    organizationId: str = Field(min_length=1)
    devKey: str = Field(min_length=1)


async def json_body(request: Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise invalid(problems) from None


@asynccontextmanager
async def authenticated(state: BillState, request: Request) -> AsyncIterator[Session]:
    session = state.sessions.use(request.headers.get("sessionId"), request.headers.get("devKey"))
    state.requests.count(session.dev_key)
    async with state.gate.enter(session.dev_key, session.organization_id):
        latency = state.config.request_latency_seconds
        if latency > 0 and state.clock.speed > 0:
            # A real server's processing time, in sandbox seconds.
            await asyncio.sleep(latency / state.clock.speed)
        yield session


def _page_size(raw: str | None, state: BillState) -> int:
    if raw is None:
        return state.config.default_page_size
    try:
        size = int(raw)
    except ValueError:
        raise invalid("max must be a number") from None
    if not 1 <= size <= state.config.max_page_size:
        raise invalid(f"max must be between 1 and {state.config.max_page_size}")
    return size


def build_api_router(state: BillState) -> APIRouter:
    router = APIRouter(prefix="/connect/v3")

    @router.post("/login")
    async def login(request: Request) -> dict[str, Any]:
        body: LoginBody = await json_body(request, LoginBody)
        session = state.sessions.login(
            Credentials(body.username, body.password, body.organizationId, body.devKey)
        )
        return {
            "sessionId": session.id,
            "organizationId": session.organization_id,
            "userId": session.user_id,
        }

    @router.post("/logout")
    async def logout(request: Request) -> dict[str, Any]:
        async with authenticated(state, request) as session:
            state.sessions.logout(session)
            return {}

    @router.get("/{collection}")
    async def list_records(collection: str, request: Request) -> dict[str, Any]:
        entity = entity_of(collection)
        async with authenticated(state, request) as session:
            params = request.query_params
            size = _page_size(params.get("max"), state)
            token = params.get("page")
            if token:
                query, key, direction = decode_token(
                    token, entity=entity, organization_id=session.organization_id
                )
                position: tuple[list[Any], str] | None = (key, direction)
            else:
                sort = check_sort(entity, params.get("sort"))
                query = ListQuery(entity, session.organization_id, params.get("filters", ""), sort)
                position = None
            records = state.records.organization(session.organization_id).list(entity)
            return read_page(query, records, size=size, position=position).body()

    @router.get("/{collection}/{record_id}")
    async def get_record(collection: str, record_id: str, request: Request) -> dict[str, Any]:
        entity = entity_of(collection)
        async with authenticated(state, request) as session:
            return state.records.organization(session.organization_id).get(entity, record_id)

    return router


def entity_of(collection: str) -> str:
    entity = ENTITIES.get(collection)
    if entity is None:
        raise BillApiError(NOT_FOUND, f"/v3/{collection} is not served")
    return entity


def build_events_router(state: BillState) -> APIRouter:
    router = APIRouter(prefix="/connect-events/v3")

    @router.get("/events/catalog")
    async def catalog(request: Request) -> list[dict[str, Any]]:
        async with authenticated(state, request):
            return [{"type": t, "version": "1"} for t in EVENT_TYPES]

    @router.post("/subscriptions")
    async def subscribe(request: Request, response: Response) -> dict[str, Any]:
        async with authenticated(state, request) as session:
            body: SubscriptionBody = await json_body(request, SubscriptionBody)
            subscription, created = state.subscriptions.create(
                session.organization_id,
                body,
                idempotency_key=request.headers.get("X-Idempotent-Key", ""),
                now=state.clock.now(),
            )
            response.status_code = 201 if created else 200
            state.writes += int(created)
            view = subscription.view()
            if created:
                view["securityKey"] = subscription.security_key
            return view

    @router.get("/subscriptions")
    async def list_subscriptions(request: Request) -> list[dict[str, Any]]:
        async with authenticated(state, request) as session:
            return [s.view() for s in state.subscriptions.of(session.organization_id)]

    @router.get("/subscriptions/{subscription_id}")
    async def read_subscription(subscription_id: str, request: Request) -> dict[str, Any]:
        async with authenticated(state, request) as session:
            return state.subscriptions.get(session.organization_id, subscription_id).view()

    @router.put("/subscriptions/{subscription_id}")
    async def replace_subscription(subscription_id: str, request: Request) -> dict[str, Any]:
        async with authenticated(state, request) as session:
            body: SubscriptionBody = await json_body(request, SubscriptionBody)
            replaced = state.subscriptions.replace(
                session.organization_id, subscription_id, body, state.clock.now()
            )
            state.writes += 1
            return replaced.view()

    @router.delete("/subscriptions/{subscription_id}", status_code=204)
    async def delete_subscription(subscription_id: str, request: Request) -> Response:
        async with authenticated(state, request) as session:
            state.subscriptions.delete(session.organization_id, subscription_id)
            state.writes += 1
            return Response(status_code=204)

    # BILL's reference spells the path security-key, its changelog security_key: both served.
    @router.post("/subscriptions/{subscription_id}/security-key")
    @router.post("/subscriptions/{subscription_id}/security_key", include_in_schema=False)
    async def rotate_key(subscription_id: str, request: Request) -> dict[str, Any]:
        async with authenticated(state, request) as session:
            key = state.subscriptions.rotate(
                session.organization_id, subscription_id, state.clock.now()
            )
            state.writes += 1
            return {"securityKey": key}

    return router
