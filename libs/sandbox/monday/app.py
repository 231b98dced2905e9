"""Assembles the monday.com simulator as its own FastAPI app, mounted under ``/monday``.

A client points its API URL (``https://api.monday.com/v2``) at ``{sandbox}/monday/v2``.
An unknown board or item raised from an admin route answers 404. Injected faults answer
in monday's error shape: 429 as ``RATE_LIMIT_EXCEEDED`` with Retry-After, any other status
as ``INTERNAL_SERVER_ERROR`` with that status.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from sandbox.clock_routes import build_clock_router
from sandbox.faults import FaultRule, install_fault_middleware
from sandbox.monday.admin import build_admin_router
from sandbox.monday.api import build_api_router
from sandbox.monday.errors import MondayApplicationError, limit_error
from sandbox.monday.state import MondayState
from sandbox.monday.webhook_admin import build_webhook_admin_router


def _render_fault(rule: FaultRule) -> Response:
    status = rule.status or 500
    if status == 429:
        return limit_error(
            rule.error or "Rate Limit Exceeded",
            code="RATE_LIMIT_EXCEEDED",
            retry_in_seconds=float(rule.retry_after or 1),
            account_id=0,
        )
    error = {
        "message": rule.error or "Internal server error",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "status_code": status},
    }
    return JSONResponse({"errors": [error]}, status_code=status)


def create_monday_app(state: MondayState) -> FastAPI:
    app = FastAPI(title="monday.com API sandbox", openapi_url="/_sandbox/openapi.json")
    app.include_router(build_admin_router(state))
    app.include_router(build_webhook_admin_router(state))
    app.include_router(build_clock_router(state.clock), prefix="/_sandbox")
    app.include_router(build_api_router(state))

    install_fault_middleware(app, state.faults, _render_fault)

    @app.exception_handler(MondayApplicationError)
    async def not_found(_: Request, error: MondayApplicationError) -> JSONResponse:
        return JSONResponse({"error": str(error), **error.extensions}, status_code=404)

    return app
