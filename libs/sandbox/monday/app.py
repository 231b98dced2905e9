"""Assembles the monday.com simulator as its own FastAPI app, mounted under ``/monday``.

A client points its API URL (``https://api.monday.com/v2``) at ``{sandbox}/monday/v2``.
An unknown board or item raised from an admin route answers 404.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.clock_routes import build_clock_router
from sandbox.monday.admin import build_admin_router
from sandbox.monday.api import build_api_router
from sandbox.monday.errors import MondayApplicationError
from sandbox.monday.state import MondayState
from sandbox.monday.webhook_admin import build_webhook_admin_router


def create_monday_app(state: MondayState) -> FastAPI:
    app = FastAPI(title="monday.com API sandbox", openapi_url="/_sandbox/openapi.json")
    app.include_router(build_admin_router(state))
    app.include_router(build_webhook_admin_router(state))
    app.include_router(build_clock_router(state.clock), prefix="/_sandbox")
    app.include_router(build_api_router(state))

    @app.exception_handler(MondayApplicationError)
    async def not_found(_: Request, error: MondayApplicationError) -> JSONResponse:
        return JSONResponse({"error": str(error), **error.extensions}, status_code=404)

    return app
