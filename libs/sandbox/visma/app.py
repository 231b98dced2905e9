"""Assembles the Visma simulator as its own FastAPI app, mounted under ``/visma``."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from sandbox.clock_routes import build_clock_router
from sandbox.faults import FaultRule, install_fault_middleware
from sandbox.visma.admin import build_admin_router
from sandbox.visma.api import build_api_router
from sandbox.visma.api_payments import build_payment_router
from sandbox.visma.api_receipts import build_receipt_router
from sandbox.visma.api_suppliers import build_supplier_router
from sandbox.visma.api_writes import build_write_router
from sandbox.visma.state import VismaApiError, VismaState, ipp_error


def _render_fault(rule: FaultRule) -> Response:
    status = rule.status or 500
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    if status == 429:
        body = ipp_error(rule.error or "Rate limit exceeded.", "rate_limited")
    else:
        body = ipp_error(rule.error or "Injected sandbox fault.", f"sandbox_fault_{status}")
    return JSONResponse(body, status_code=status, headers=headers)


def create_visma_app(state: VismaState) -> FastAPI:
    app = FastAPI(title="Visma.net ERP sandbox", openapi_url="/_sandbox/openapi.json")
    app.include_router(build_write_router(state))
    app.include_router(build_receipt_router(state))
    app.include_router(build_supplier_router(state))
    app.include_router(build_payment_router(state))
    app.include_router(build_api_router(state))
    app.include_router(build_admin_router(state))
    app.include_router(build_clock_router(state.clock), prefix="/_sandbox")

    @app.exception_handler(VismaApiError)
    async def visma_error(_: Request, exc: VismaApiError) -> Response:
        return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)

    install_fault_middleware(app, state.faults, _render_fault)
    return app
