"""Assembles the BILL simulator as its own FastAPI app, mounted under ``/bill``.

A client points BILL's v3 base URL (``https://gateway.stage.bill.com/connect/v3``) at
``{sandbox}/bill/connect/v3`` and the webhook API (``…/connect-events/v3``) at
``{sandbox}/bill/connect-events/v3``. Every failure, unknown paths and malformed bodies
included, answers BILL's v3 error body ``[{timestamp, code, severity, category, message}]``;
injected faults too (a 5xx as ``BDC_1000``, any other status as the hourly limit
``BDC_1144``), with ``Retry-After`` when the rule sets one.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from sandbox.bill.admin import build_admin_router
from sandbox.bill.api import build_api_router, build_events_router
from sandbox.bill.errors import (
    HOURLY_LIMIT,
    INVALID_INPUT,
    NOT_FOUND,
    SERVER_ERROR,
    BillApiError,
    error_response,
)
from sandbox.bill.state import BillState
from sandbox.bill.webhook_admin import build_webhook_admin_router
from sandbox.clock_routes import build_clock_router
from sandbox.faults import FaultRule, install_fault_middleware


def create_bill_app(state: BillState) -> FastAPI:
    app = FastAPI(title="BILL v3 API sandbox", openapi_url="/_sandbox/openapi.json")
    app.include_router(build_admin_router(state))
    app.include_router(build_webhook_admin_router(state))
    app.include_router(build_clock_router(state.clock), prefix="/_sandbox")
    app.include_router(build_api_router(state))
    app.include_router(build_events_router(state))

    def render_fault(rule: FaultRule) -> Response:
        status = rule.status or 500
        headers = None if rule.retry_after is None else {"Retry-After": str(rule.retry_after)}
        error = SERVER_ERROR if status >= 500 else HOURLY_LIMIT
        return error_response(
            error, state.clock.now(), message=rule.error, status=status, headers=headers
        )

    install_fault_middleware(app, state.faults, render_fault)

    @app.exception_handler(BillApiError)
    async def bill_error(_: Request, error: BillApiError) -> JSONResponse:
        state.refusals[error.error.code] += 1
        return error.response(state.clock.now())

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, error: RequestValidationError) -> JSONResponse:
        state.refusals[INVALID_INPUT.code] += 1
        return error_response(INVALID_INPUT, state.clock.now(), message=str(error.errors()))

    @app.exception_handler(HTTPException)
    async def unknown_path(_: Request, error: HTTPException) -> JSONResponse:
        known = NOT_FOUND if error.status_code == 404 else INVALID_INPUT
        return error_response(
            known, state.clock.now(), message=str(error.detail), status=error.status_code
        )

    return app
