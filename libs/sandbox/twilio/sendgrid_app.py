"""Assembles the SendGrid simulator as its own FastAPI app, mounted under ``/sendgrid``.

A client points its SendGrid base URL (``https://api.sendgrid.com``) at
``{sandbox}/sendgrid``. The admin API (``/sendgrid/_sandbox``) lists the emails accepted
(``GET /emails``, ``?to=`` filters by recipient), adds or revokes keys, changes the rate
limit, resets, injects faults (answered in SendGrid's error body) and moves the clock.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.clock_routes import build_clock_router
from sandbox.faults import FaultRule, add_fault_routes, install_fault_middleware
from sandbox.twilio.sendgrid import SendGridRefusal, SendGridState, problem


class KeyCreate(BaseModel):
    key: str = Field(pattern=r"^SG\.")
    scopes: list[str] = Field(default_factory=lambda: ["mail.send"])


class RateChange(BaseModel):
    rate_limit: int | None = Field(default=None, ge=1)
    rate_window_seconds: float | None = Field(default=None, gt=0)


def _refused(state: SendGridState, refusal: SendGridRefusal) -> JSONResponse:
    state.stats.refused[refusal.status] += 1
    return JSONResponse(
        {"errors": refusal.errors}, status_code=refusal.status, headers=refusal.headers
    )


def _render_fault(rule: FaultRule) -> Response:
    status = rule.status or 500
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    message = rule.error or ("too many requests" if status == 429 else "internal error")
    return JSONResponse({"errors": [problem(message, None)]}, status_code=status, headers=headers)


def _mail_router(state: SendGridState) -> APIRouter:
    router = APIRouter()

    @router.post("/v3/mail/send")
    async def mail_send(request: Request) -> Response:
        try:
            key = state.authorize(request.headers.get("authorization"))
            state.take_rate(key)
            try:
                body = json.loads(await request.body())
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise SendGridRefusal(400, [problem("Bad Request", None)]) from exc
            email = state.accept(key, body)
        except SendGridRefusal as refusal:
            return _refused(state, refusal)
        return Response(status_code=202, headers={"X-Message-Id": email.message_id})

    @router.get("/v3/scopes")
    async def scopes(request: Request) -> Response:
        try:
            key = state.identify(request.headers.get("authorization"))
        except SendGridRefusal as refusal:
            return _refused(state, refusal)
        return JSONResponse({"scopes": list(state.keys[key])})

    return router


def _admin_router(state: SendGridState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.get("/emails")
    async def emails(to: str | None = None) -> list[dict[str, object]]:
        return [e.as_dict() for e in state.sent if to is None or to in e.recipients]

    @router.get("/stats")
    async def stats() -> dict[str, object]:
        return state.stats.as_dict()

    @router.post("/keys", status_code=201)
    async def add_key(body: KeyCreate) -> dict[str, object]:
        state.keys[body.key] = list(body.scopes)
        state.revoked.discard(body.key)
        return {"key_hint": body.key[:6], "scopes": body.scopes}

    @router.post("/keys/revoke")
    async def revoke_key(body: KeyCreate) -> dict[str, object]:
        if body.key not in state.keys:
            raise HTTPException(404, "unknown key")
        state.revoked.add(body.key)
        return {"key_hint": body.key[:6], "revoked": True}

    @router.patch("/settings")
    async def change_rate(change: RateChange) -> dict[str, object]:
        state.config = state.config.model_copy(update=change.model_dump(exclude_none=True))
        return {
            "rate_limit": state.config.rate_limit,
            "rate_window_seconds": state.config.rate_window_seconds,
        }

    @router.post("/reset")
    async def reset() -> dict[str, object]:
        state.reset()
        return {"ok": True}

    add_fault_routes(router, state.faults)
    return router


def create_sendgrid_app(state: SendGridState) -> FastAPI:
    app = FastAPI(title="SendGrid v3 sandbox", openapi_url="/_sandbox/openapi.json")
    app.include_router(_admin_router(state))
    app.include_router(build_clock_router(state.clock), prefix="/_sandbox")
    app.include_router(_mail_router(state))
    install_fault_middleware(app, state.faults, _render_fault)
    return app
