"""BILL's v3 error answers, built in one place so every route speaks the same body.

A v3 call that fails answers a JSON list ``[{timestamp, code, severity, category,
message}]``. The codes of the limits are BILL's (``BDC_1144`` the hourly request limit,
``BDC_1322`` more than 3 concurrent requests per devKey and organization); the other codes,
the categories and every HTTP status here are UNCONFIRMED (BILL's public pages name no
status for them), chosen so that a client can tell auth, validation, not-found and limit
errors apart. docs/bill-sandbox.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi.responses import JSONResponse

from chassis.errors import ConnectorError


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    category: str
    message: str


HOURLY_LIMIT = ErrorCode(
    "BDC_1144", 400, "RATE_LIMIT", "Max number of API calls per hour reached for this devKey"
)
CONCURRENCY_LIMIT = ErrorCode(
    "BDC_1322",
    400,
    "RATE_LIMIT",
    "Too many concurrent requests for this developer key and organization",
)
# UNCONFIRMED: BILL publishes no separate code for the 200 logins an hour; the hourly
# limit's code is the closest published one.
LOGIN_LIMIT = ErrorCode("BDC_1144", 400, "RATE_LIMIT", "Max number of logins per hour reached")
INVALID_SESSION = ErrorCode(
    "BDC_1109", 401, "AUTHENTICATION", "Session is invalid. Please log in."
)  # code from BILL's v2 catalogue; its v3 status is UNCONFIRMED
BAD_CREDENTIALS = ErrorCode(
    "BDC_1102", 401, "AUTHENTICATION", "Incorrect username, password or organization"
)  # UNCONFIRMED
BAD_DEV_KEY = ErrorCode("BDC_1103", 401, "AUTHENTICATION", "Invalid developer key")  # UNCONFIRMED
INVALID_INPUT = ErrorCode("BDC_1001", 400, "VALIDATION", "Invalid request")  # UNCONFIRMED
NOT_FOUND = ErrorCode("BDC_1004", 404, "NOT_FOUND", "Object not found")  # UNCONFIRMED
SERVER_ERROR = ErrorCode("BDC_1000", 500, "SERVER", "Internal server error")  # UNCONFIRMED


class BillApiError(ConnectorError):
    """An error answer the simulated BILL gives; its code says whether a retry helps."""

    def __init__(
        self, error: ErrorCode, message: str | None = None, *, status: int | None = None
    ) -> None:
        super().__init__(message or error.message)
        self.error = error
        self.message = message or error.message
        self.status = status or error.status

    def response(self, now: datetime) -> JSONResponse:
        return error_response(self.error, now, message=self.message, status=self.status)


def format_time(moment: datetime) -> str:
    """BILL's timestamps: ``2026-03-02T10:00:00.000+00:00`` (UTC, milliseconds)."""
    return moment.isoformat(timespec="milliseconds")


def error_response(
    error: ErrorCode,
    now: datetime,
    *,
    message: str | None = None,
    status: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = [
        {
            "timestamp": format_time(now),
            "code": error.code,
            "severity": "ERROR",
            "category": error.category,
            "message": message or error.message,
        }
    ]
    return JSONResponse(body, status_code=status or error.status, headers=headers)
