"""Assembles the Slack simulator as its own FastAPI app, mounted under ``/slack``."""

from __future__ import annotations

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

from sandbox.clock_routes import build_clock_router
from sandbox.faults import FaultRule, install_fault_middleware
from sandbox.slack.admin import build_admin_router
from sandbox.slack.api import build_api_router
from sandbox.slack.state import SlackState


def _render_fault(rule: FaultRule) -> Response:
    status = rule.status or 500
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    default = "ratelimited" if status == 429 else "fatal_error"
    return JSONResponse(
        {"ok": False, "error": rule.error or default}, status_code=status, headers=headers
    )


def create_slack_app(state: SlackState) -> FastAPI:
    app = FastAPI(title="Slack Web API sandbox", openapi_url="/_sandbox/openapi.json")
    app.include_router(build_api_router(state))
    app.include_router(build_admin_router(state))
    app.include_router(build_clock_router(state.clock), prefix="/_sandbox")
    install_fault_middleware(app, state.faults, _render_fault)
    return app
