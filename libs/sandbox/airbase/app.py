"""Assembles the Airbase simulator as its own FastAPI app, mounted under ``/airbase``.

A client points Airbase's base URL (``https://api.airbase.io``) at ``{sandbox}/airbase``.
Admin routes come first (``/_sandbox``), then the catch-all API. Injected faults answer as
Airbase would: a 429 in DRF's throttle shape with ``Retry-After``, a 5xx as a plain HTML
page (a server error or the load balancer's).
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from sandbox.airbase.admin import build_admin_router
from sandbox.airbase.api import build_api_router
from sandbox.airbase.errors import AirbaseApiError, server_error_page, throttled
from sandbox.airbase.state import AirbaseState
from sandbox.airbase.webhook_admin import build_webhook_admin_router
from sandbox.clock_routes import build_clock_router
from sandbox.faults import FaultRule, install_fault_middleware


def create_airbase_app(state: AirbaseState) -> FastAPI:
    app = FastAPI(title="Airbase API sandbox", openapi_url="/_sandbox/openapi.json")
    # Fixed admin paths before the admin's ``/_sandbox/{resource}`` listing.
    app.include_router(build_webhook_admin_router(state))
    app.include_router(build_clock_router(state.clock), prefix="/_sandbox")
    app.include_router(build_admin_router(state))
    app.include_router(build_api_router(state))

    def render_fault(rule: FaultRule) -> Response:
        status = rule.status or 500
        if status >= 500:
            return server_error_page(status)
        error = throttled(rule.retry_after or 1)
        if status != 429:
            error = AirbaseApiError(status, {"detail": rule.error or "Fault injected."})
        return JSONResponse(error.body, status_code=status, headers=error.headers)

    install_fault_middleware(app, state.faults, render_fault)

    @app.exception_handler(AirbaseApiError)
    async def airbase_error(_: Request, error: AirbaseApiError) -> JSONResponse:
        return JSONResponse(error.body, status_code=error.status, headers=error.headers)

    return app
