"""The public Visma routes: the Visma Connect token endpoint and every entity's list and
single GET, all served alike (see docs/visma-entities.md).

The token endpoint grants the scopes asked for when the client is registered for them (all
it may have when it asks for none) and names them in the answer's `scope`, as an OAuth 2
server does (RFC 6749 5.1); a scope the client may not have is `invalid_scope`.

Only translation between HTTP and :class:`VismaState` happens here. Errors use Visma's
IPPException body (OAuth errors on the token endpoint use the OAuth shape).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.visma.datefilter import DateFilterError, build_filter
from sandbox.visma.entities import ENTITY_SPECS, EntitySpec
from sandbox.visma.list_filters import field_filter
from sandbox.visma.state import Access, VismaApiError, VismaState
from sandbox.visma.store import record_dto

Endpoint = Callable[[Request], Awaitable[JSONResponse]]


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def _positive_int(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise VismaApiError(400, f"{name} must be a positive integer.", "invalid_parameter")
    return value


def build_api_router(state: VismaState) -> APIRouter:
    router = APIRouter()

    @router.post("/connect/token")
    async def issue_token(request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type", "Only client_credentials is supported.")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        known = [c for c in state.config.clients if c.client_id == client_id]
        if not known or all(c.client_secret.get_secret_value() != secret for c in known):
            return _oauth_error("invalid_client", "Unknown client or wrong secret.")
        tenant = form.get("tenant_id", "")
        if tenant not in {c.tenant_id for c in known}:
            return _oauth_error("invalid_request", "Unknown tenant_id for this client.")
        allowed = {s for c in known if c.tenant_id == tenant for s in c.scopes}
        asked = form.get("scope", "").split()
        if set(asked) - allowed:
            refused = " ".join(sorted(set(asked) - allowed))
            return _oauth_error("invalid_scope", f"Scopes not allowed for this client: {refused}")
        scope = " ".join(asked or sorted(allowed))
        grant = state.tokens.issue(
            client_id=client_id, tenant_id=tenant, scope=scope, now=state.clock.time()
        )
        state.stats.tokens_issued += 1
        return JSONResponse(
            {
                "access_token": grant.token,
                "token_type": "Bearer",
                "expires_in": state.tokens.ttl_seconds,
                "scope": scope,
            },
            headers={"Cache-Control": "no-store"},
        )

    for spec in ENTITY_SPECS:
        router.add_api_route(spec.route, _list_endpoint(state, spec), methods=["GET"])
        router.add_api_route(
            spec.route + "/{key:path}", _single_endpoint(state, spec), methods=["GET"]
        )
    return router


def _authorize(state: VismaState, request: Request, spec: EntitySpec) -> Access:
    return state.authorize(
        request.headers.get("authorization"), request.headers.get("ipp-company-id"), spec.route
    )


def _list_endpoint(state: VismaState, spec: EntitySpec) -> Endpoint:
    async def list_records(request: Request) -> JSONResponse:
        access = _authorize(state, request, spec)
        query = request.query_params
        try:
            keep = build_filter(
                query.get("lastModifiedDateTime"), query.get("lastModifiedDateTimeCondition")
            )
        except DateFilterError as exc:
            raise VismaApiError(400, str(exc), "invalid_parameter", access.headers) from exc
        max_size = state.config.max_page_size
        try:
            page = _positive_int(query.get("pageNumber"), "pageNumber", 1)
            size = min(_positive_int(query.get("pageSize"), "pageSize", max_size), max_size)
        except VismaApiError as exc:
            exc.headers = access.headers
            raise
        fields_match = field_filter(spec.name, query)
        matching = [
            r
            for r in state.paging.ordered(state.store.list(spec.name, access.company))
            if (keep is None or keep(r.last_modified)) and fields_match(r.fields)
        ]
        chunk = matching[(page - 1) * size : page * size]
        body = [record_dto(r, total_count=len(matching), max_page_size=max_size) for r in chunk]
        if chunk:
            state.paging.after_page(
                spec.name,
                matching[: page * size],
                insert=lambda: state.create(spec, access.company, {}),
                delete=state.store.remove,
            )
        return JSONResponse(body, headers=access.headers)

    list_records.__name__ = f"list_{spec.name}"
    return list_records


def _single_endpoint(state: VismaState, spec: EntitySpec) -> Endpoint:
    async def get_record(request: Request) -> JSONResponse:
        access = _authorize(state, request, spec)
        key = str(request.path_params["key"])
        record = state.store.get(spec.name, access.company, key)
        if record is None:
            message = f"{spec.name[0].upper()}{spec.name[1:]} {key} not found."
            raise VismaApiError(404, message, "not_found", access.headers)
        body = record_dto(record, total_count=1, max_page_size=state.config.max_page_size)
        response = JSONResponse(body, headers=access.headers | {"ETag": f'"{record.timestamp}"'})
        state.was_read(record)
        return response

    get_record.__name__ = f"get_{spec.name}"
    return get_record
