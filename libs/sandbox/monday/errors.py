"""monday's error answers, built in one place so every route speaks the same shape.

Application errors come back with HTTP 200 and ``errors[{message, path, extensions:{code,
error_data, status_code}}]``; limits answer HTTP 429 (monday's status code for every limit
error), the per-minute limit with a ``Retry-After`` header.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi.responses import JSONResponse


class MondayApplicationError(Exception):
    """A resolver's refusal, rendered as a GraphQL error with monday's extensions."""

    def __init__(self, message: str, *, code: str, status_code: int = 200, **data: Any) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {
            "code": code,
            "error_data": data,
            "status_code": status_code,
        }


def _limit_extensions(code: str, seconds: int) -> dict[str, Any]:
    # From API version 2025-07 the complexity error carries only its code and the wait
    # (monday changelog "Updated complexity budget exhausted error"); the others keep
    # their status code.
    if code == "COMPLEXITY_BUDGET_EXHAUSTED":
        return {"code": code, "retry_in_seconds": seconds}
    return {"code": code, "retry_in_seconds": seconds, "status_code": 429}


def limit_error(
    message: str, *, code: str, retry_in_seconds: float, account_id: int
) -> JSONResponse:
    seconds = max(1, math.ceil(retry_in_seconds))
    body = {
        "errors": [
            {
                "message": message,
                "extensions": _limit_extensions(code, seconds),
            }
        ],
        "account_id": account_id,
    }
    return JSONResponse(body, status_code=429, headers={"Retry-After": str(seconds)})


def unauthenticated() -> JSONResponse:
    body = {
        "errors": [
            {
                "message": "Not Authenticated",
                "extensions": {"code": "UNAUTHENTICATED", "status_code": 401},
            }
        ]
    }
    return JSONResponse(body, status_code=401)
