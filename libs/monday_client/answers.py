"""Reading monday's answer: the data and its complexity, a limit to wait out, or an error.

monday answers application errors with HTTP 200 and ``errors[{message, path, extensions:
{code, error_data, status_code}}]`` (possibly beside partial ``data``), limits with HTTP 429
and the code in the same place (``retry_in_seconds`` in the extensions, ``Retry-After`` in
the header), and before API version 2025-01 some errors as a top-level ``error_code``.
Which codes mean what is monday's "Error handling" page; codes marked UNCONFIRMED are from
older pages or the changelog and are classed by what their name says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from chassis.http import parse_retry_after
from monday_client.errors import (
    MondayAuthError,
    MondayBoardNotFound,
    MondayCursorExpired,
    MondayDailyLimitReached,
    MondayError,
    MondayInvalidInput,
    MondayRequestError,
    MondayUnavailable,
)
from monday_client.models import Complexity

__all__ = ["BUDGET", "CONCURRENCY", "RATE", "Answer", "Refusal", "read_answer"]

BUDGET = "COMPLEXITY_BUDGET_EXHAUSTED"
CONCURRENCY = "maxConcurrencyExceeded"
RATE = "RATE_LIMIT_EXCEEDED"
DAILY = "DAILY_LIMIT_EXCEEDED"

_LIMIT_CODES = {
    BUDGET: BUDGET,
    "ComplexityException": BUDGET,  # the pre-2025-01 form
    CONCURRENCY: CONCURRENCY,
    RATE: RATE,
    "Rate Limit Exceeded": RATE,
    "IP_RATE_LIMIT_EXCEEDED": RATE,
}
_AUTH_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "Unauthorized",
        "UserUnauthorizedException",
        "USER_UNAUTHORIZED",  # UNCONFIRMED
        "missingRequiredPermissions",
    }
)
_BOARD_CODES = frozenset({"InvalidBoardIdException"})
_INPUT_CODES = frozenset(
    {
        "ColumnValueException",
        "CorrectedValueException",
        "InvalidArgumentException",
        "InvalidColumnIdException",
        "InvalidGroupIdException",
        "InvalidItemIdException",
        "InvalidUserIdException",
        "ItemNameTooLongException",
        "ItemsLimitationException",
        "JsonParseException",
        "RecordInvalidException",
    }
)
_RETRYABLE_CODES = frozenset(
    {
        "INTERNAL_SERVER_ERROR",
        "InternalServerError",
        "Internal Server Error",
        "API_TEMPORARILY_BLOCKED",  # UNCONFIRMED
    }
)
_CURSOR_CODES = frozenset({"CursorExpiredError"})
_LEGACY_RESET = re.compile(r"reset in (\d+(?:\.\d+)?) seconds?")


@dataclass(frozen=True)
class Answer:
    data: dict[str, Any]
    complexity: Complexity | None


@dataclass(frozen=True)
class Refusal:
    """A limit refused the call before any work: wait `wait` seconds (None: not said)."""

    code: str
    wait: float | None


@dataclass(frozen=True)
class _Error:
    code: str
    message: str
    extensions: dict[str, Any]
    path: tuple[str | int, ...] = ()

    @property
    def error_data(self) -> dict[str, Any]:
        data = self.extensions.get("error_data")
        return dict(data) if isinstance(data, dict) else {}


def read_answer(response: httpx.Response, *, now: float) -> Answer | Refusal:
    """The answer's data, a limit to wait out, or raises the `MondayError` it means.

    `now` (epoch seconds) dates a daily limit's reset."""
    body = _body(response)
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status >= 500:
        raise MondayUnavailable(
            f"monday answered HTTP {status}",
            code=_first_code(body),
            retry_after=retry_after,
            refused=status == 503,
        )
    errors = _errors(body)
    if errors:
        return _refusal_or_raise(errors[0], status=status, retry_after=retry_after, now=now)
    if status == 429:
        return Refusal(RATE, retry_after)
    if status in (401, 403):
        raise MondayAuthError(f"monday answered HTTP {status}", code=f"http_{status}")
    if status != 200 or body is None or not isinstance(body.get("data"), dict):
        raise MondayRequestError(f"monday answered HTTP {status} without data")
    data: dict[str, Any] = body["data"]
    raw = data.get("complexity")
    complexity = Complexity.model_validate(raw) if isinstance(raw, dict) else None
    return Answer(data, complexity)


def _body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _errors(body: dict[str, Any] | None) -> list[_Error]:
    if body is None:
        return []
    if isinstance(body.get("error_code"), str):
        message = str(body.get("error_message") or body["error_code"])
        extensions = {k: v for k, v in body.items() if k not in ("error_code", "error_message")}
        return [_Error(body["error_code"], message, extensions)]
    found = []
    for raw in body.get("errors") or ():
        if not isinstance(raw, dict):
            continue
        found_extensions = raw.get("extensions")
        extensions = found_extensions if isinstance(found_extensions, dict) else {}
        code = extensions.get("code") or raw.get("message") or "unknown"
        path = tuple(p for p in raw.get("path") or () if isinstance(p, str | int))
        found.append(_Error(str(code), str(raw.get("message") or code), dict(extensions), path))
    return found


def _first_code(body: dict[str, Any] | None) -> str | None:
    errors = _errors(body)
    return errors[0].code if errors else None


def _wait(error: _Error, retry_after: float | None) -> float | None:
    seconds = error.extensions.get("retry_in_seconds")
    if isinstance(seconds, int | float):
        return max(0.0, float(seconds))
    if retry_after is not None:
        return retry_after
    legacy = _LEGACY_RESET.search(error.message)
    return float(legacy.group(1)) if legacy else None


def _refusal_or_raise(
    error: _Error, *, status: int, retry_after: float | None, now: float
) -> Refusal:
    if error.code in _LIMIT_CODES:
        return Refusal(_LIMIT_CODES[error.code], _wait(error, retry_after))
    if error.code == DAILY:
        wait = _wait(error, retry_after)
        resets_at = _next_midnight(now) if wait is None else _at(now + wait)
        raise MondayDailyLimitReached(
            f"monday's daily call limit is spent until {resets_at.isoformat()}",
            resets_at=resets_at,
            retry_after=max(0.0, resets_at.timestamp() - now),
        )
    failure = _application_error(error, status=status)
    failure.path = error.path
    raise failure


def _application_error(error: _Error, *, status: int) -> MondayError:
    message = f"monday refused the call: {error.code}: {error.message}"
    code, data = error.code, error.error_data
    if code in _AUTH_CODES or (status in (401, 403) and code not in _INPUT_CODES):
        return MondayAuthError(message, code=code, error_data=data)
    if code in _BOARD_CODES:
        return MondayBoardNotFound(message, board_id=str(data.get("board_id", "")), code=code)
    if code in _INPUT_CODES:
        return MondayInvalidInput(message, code=code, error_data=data)
    if code in _RETRYABLE_CODES:
        return MondayUnavailable(message, code=code)
    if code in _CURSOR_CODES:
        return MondayCursorExpired(message, code=code, error_data=data)
    return MondayRequestError(message, code=code, error_data=data)


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _next_midnight(now: float) -> datetime:
    today = _at(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)
