"""How every sandbox Web API method is called: verbs, arguments, token, error shape.

Slack takes every method by GET or POST, with arguments in the query string, a form body or
a JSON body, and the token in ``Authorization: Bearer`` or a ``token`` argument; it answers a
failure with ``{"ok": false, "error": ...}``. One wrapper does that for every method, so a
method only says what it does with its arguments.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.slack.state import SlackError, SlackState

VERBS = ["GET", "POST"]

Method = Callable[[dict[str, Any]], Awaitable[JSONResponse]]
"""A Web API method: its arguments (token already checked) to Slack's answer."""


async def _fields(request: Request) -> dict[str, Any]:
    """The call's arguments: query string, then the form or JSON body on top."""
    fields: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    if not raw:
        return fields
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SlackError("invalid_json") from exc
        if not isinstance(parsed, dict):
            raise SlackError("json_not_object")
        return {**fields, **parsed}
    try:
        form = parse_qs(raw.decode(), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise SlackError("invalid_charset") from exc
    fields.update({k: v[0] for k, v in form.items()})
    for name in ("blocks", "metadata"):
        if isinstance(fields.get(name), str):
            try:
                fields[name] = json.loads(fields[name])
            except json.JSONDecodeError as exc:
                raise SlackError(f"invalid_{name}") from exc
    return fields


def _token(request: Request, fields: dict[str, Any]) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    body_token = fields.get("token")
    return str(body_token) if body_token else None


def _failure(state: SlackState, error: str) -> JSONResponse:
    state.stats.errors[error] += 1
    return JSONResponse({"ok": False, "error": error})


def add_method(router: APIRouter, state: SlackState, name: str, method: Method) -> None:
    """Registers `name` for GET and POST with the checks every method shares."""

    async def route(request: Request) -> JSONResponse:
        state.stats.calls[name] += 1
        try:
            fields = await _fields(request)
            state.check_token(_token(request, fields))
            return await method(fields)
        except SlackError as exc:
            return _failure(state, exc.error)

    router.add_api_route(f"/{name}", route, methods=VERBS, name=name)
