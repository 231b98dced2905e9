"""Airbase's REST API as Django REST Framework would serve it, on the profile's paths.

One catch-all route resolves the path against the profile (so ``PUT
/airbase/_sandbox/profile`` moves every collection at once) and then does what DRF does,
in DRF's order: Django's URL resolution (an unknown path: Django's HTML 404; no trailing
slash: a 301 to the path with one), authentication (``Token`` or, by profile, ``Bearer``;
DRF's 401 with ``WWW-Authenticate``), the hourly throttle (429), the method (405 with
``Allow``), then the handler. Lists are page-numbered (``?page=N&page_size=M``) as
``{"data": [...], "pagination": {"next": null, "previous": null, "page", "page_size"}}``;
``next``/``previous`` stay null as recorded from the live API, and a page past the end is
an empty ``data``. Every answer carries ``Allow``, ``Vary: Cookie, origin`` and
``X-Ratelimit-Limit/Remaining`` (the recorded headers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from sandbox.airbase.errors import (
    INVALID_TOKEN,
    NO_CREDENTIALS,
    NOT_PROVIDED,
    SPACES_IN_TOKEN,
    AirbaseApiError,
    field_errors,
    invalid_page,
    method_not_allowed,
    not_authenticated,
    unknown_path,
)
from sandbox.airbase.records import view
from sandbox.airbase.resources import RESOURCES
from sandbox.airbase.state import AirbaseState

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class Target:
    resource: str
    airbase_id: str | None

    @property
    def allow(self) -> str:
        spec = RESOURCES[self.resource]
        return spec.allow_collection if self.airbase_id is None else spec.allow_item


def resolve(state: AirbaseState, path: str) -> Target | str | None:
    """The collection or item at ``path``; a str is the path with its missing slash."""
    for resource, collection in state.profile.resolved_paths().items():
        found = _match(resource, collection, path)
        if found is not None:
            return found
        if collection.endswith("/") and _match(resource, collection, path + "/") is not None:
            return path + "/"
    return None


def _match(resource: str, collection: str, path: str) -> Target | None:
    if path == collection:
        return Target(resource, None)
    base = collection.rstrip("/") + "/"
    if not path.startswith(base):
        return None
    rest = path[len(base) :]
    if collection.endswith("/"):
        if not rest.endswith("/"):
            return None
        rest = rest[:-1]
    return Target(resource, rest) if rest and "/" not in rest else None


def authenticate(state: AirbaseState, request: Request) -> tuple[str, str]:
    """The token and its tenant, or DRF TokenAuthentication's 401."""
    scheme = state.profile.auth_scheme
    words = request.headers.get("authorization", "").split()
    if not words or words[0].lower() != scheme.lower():
        raise not_authenticated(NOT_PROVIDED, scheme=scheme)
    if len(words) == 1:
        raise not_authenticated(NO_CREDENTIALS, scheme=scheme)
    if len(words) > 2:
        raise not_authenticated(SPACES_IN_TOKEN, scheme=scheme)
    tenant = state.tokens.get(words[1])
    if tenant is None:
        raise not_authenticated(INVALID_TOKEN, scheme=scheme)
    return words[1], tenant


def page_numbers(state: AirbaseState, request: Request) -> tuple[int, int]:
    try:
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("page_size", str(state.config.default_page_size)))
    except ValueError:
        raise invalid_page() from None
    if page < 1:
        raise invalid_page()
    return page, max(1, min(size, state.config.max_page_size))


async def read_body(state: AirbaseState, request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError as error:
        raise AirbaseApiError(400, {"detail": f"JSON parse error - {error}"}) from None
    if not isinstance(body, dict):
        raise field_errors(
            {
                "non_field_errors": [
                    f"Invalid data. Expected a dictionary, but got {type(body).__name__}."
                ]
            }
        )
    renamed: dict[str, Any] = state.profile.from_api(body)
    return renamed


async def handle(state: AirbaseState, request: Request, target: Target, tenant: str) -> Any:
    records = state.tenant(tenant)
    spec = RESOURCES[target.resource]
    method = request.method
    if method == "OPTIONS":
        return {
            "name": target.resource.replace("_", " ").title(),
            "renders": ["application/json"],
            "parses": ["application/json"],
        }
    if method not in target.allow.split(", "):
        raise method_not_allowed(method, target.allow)
    if target.airbase_id is not None:
        if method == "PATCH":
            body = await read_body(state, request)
            record = state.update(tenant, target.resource, target.airbase_id, body)
            return view(spec, record)
        return view(spec, records.get(target.resource, target.airbase_id))
    if method == "POST":
        record = state.create(tenant, target.resource, await read_body(state, request))
        return JSONResponse(state.profile.to_api(view(spec, record)), status_code=201)
    page, size = page_numbers(state, request)
    params = state.profile.from_api(dict(request.query_params))
    filters = {k: str(v) for k, v in params.items() if k in spec.filters}
    found = records.matching(target.resource, filters)
    chunk = found[(page - 1) * size : page * size]
    return {
        "data": [view(spec, record) for record in chunk],
        "pagination": {"next": None, "previous": None, "page": page, "page_size": size},
    }


def build_api_router(state: AirbaseState) -> APIRouter:
    router = APIRouter()

    @router.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
    async def api(path: str, request: Request) -> Response:
        target = resolve(state, "/" + path)
        if target is None:
            return unknown_path()
        if isinstance(target, str):
            return RedirectResponse(str(request.url.replace(path=request.url.path + "/")), 301)
        headers = {"Allow": target.allow, "Vary": "Cookie, origin"}
        token: str | None = None
        try:
            token, tenant = authenticate(state, request)
            state.budget.spend(token)
            answer = await handle(state, request, target, tenant)
            response = (
                answer
                if isinstance(answer, Response)
                else JSONResponse(state.profile.to_api(answer))
            )
        except AirbaseApiError as error:
            body = state.profile.to_api(error.body)
            response = JSONResponse(body, status_code=error.status, headers=error.headers)
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if token is not None:
            response.headers["X-Ratelimit-Limit"] = str(state.budget.limit)
            response.headers["X-Ratelimit-Remaining"] = str(state.budget.remaining(token))
        if request.method == "HEAD":
            return Response(status_code=response.status_code, headers=dict(response.headers))
        return response

    return router
