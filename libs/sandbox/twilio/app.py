"""Assembles the Twilio Messages simulator as its own FastAPI app, mounted under ``/twilio``.

A client points its API base URL (``https://api.twilio.com``) at ``{sandbox}/twilio``.
Injected faults answer in Twilio's error body: 429 as 20429, 503 as 20503, any other
status as 20500 with that status.
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

from sandbox.clock_routes import build_clock_router
from sandbox.faults import FaultRule, install_fault_middleware
from sandbox.twilio.admin import build_admin_router
from sandbox.twilio.api import build_api_router
from sandbox.twilio.state import TwilioState

FAULT_CODES = {429: 20429, 503: 20503}


def _render_fault(rule: FaultRule) -> Response:
    status = rule.status or 500
    code = FAULT_CODES.get(status, 20500)
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    body = {
        "code": code,
        "message": rule.error or ("Too Many Requests" if status == 429 else "Service error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def create_twilio_app(state: TwilioState) -> FastAPI:
    app = FastAPI(title="Twilio REST API sandbox", openapi_url="/_sandbox/openapi.json")
    app.include_router(build_admin_router(state))
    app.include_router(build_clock_router(state.clock), prefix="/_sandbox")
    app.include_router(build_api_router(state))  # last: it ends with a catch-all
    install_fault_middleware(app, state.faults, _render_fault)
    return app
