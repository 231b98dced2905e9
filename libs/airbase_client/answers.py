"""Reading Airbase's answers: records, pages, rate-limit headers and DRF's error bodies.

Kept apart from the client so each shape Airbase (inferred: Django REST Framework) answers
in is read in one place, in the connector's field names (the profile's renames undone),
and every failure becomes the one typed error a caller can act on.
"""

from __future__ import annotations

from typing import Any

import httpx

from airbase_client.errors import (
    AirbaseCredentialsRefused,
    AirbaseError,
    AirbaseNotFound,
    AirbaseRateLimited,
    AirbaseRequestError,
    AirbaseServerError,
    AirbaseUnavailable,
    AirbaseUnreadable,
    AirbaseValidationError,
)
from airbase_client.models import RateLimit
from airbase_client.profile import AirbaseProfile
from chassis.http import parse_retry_after

__all__ = ["error_for", "rate_limit_of", "read_object", "read_page"]

_DETAIL_LIMIT = 300
"""Characters of an error body kept in a message (a 5xx may answer a whole HTML page)."""


def read_object(response: httpx.Response, *, profile: AirbaseProfile) -> dict[str, Any]:
    """The JSON object of a 2xx, in our names."""
    body = _json(response)
    if not isinstance(body, dict):
        raise AirbaseUnreadable(f"Airbase's answer ({response.status_code}) is not an object")
    renamed: dict[str, Any] = profile.from_api(body)
    return renamed


def read_page(response: httpx.Response, *, profile: AirbaseProfile) -> list[dict[str, Any]]:
    """The records of one list page (``{"data": [...], "pagination": {...}}``), in our names."""
    body = _json(response)
    rows = body.get("data") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise AirbaseUnreadable("Airbase's list page has no data list of objects")
    renamed: list[dict[str, Any]] = profile.from_api(rows)
    return renamed


def rate_limit_of(response: httpx.Response) -> RateLimit | None:
    """``X-Ratelimit-Limit`` and ``-Remaining`` when Airbase sent them, else None."""
    limit = _integer(response.headers.get("x-ratelimit-limit"))
    remaining = _integer(response.headers.get("x-ratelimit-remaining"))
    if limit is None and remaining is None:
        return None
    return RateLimit(limit=limit, remaining=remaining)


def error_for(response: httpx.Response, *, profile: AirbaseProfile) -> AirbaseError:
    """The typed error for a failed answer (after the client's retries)."""
    status = response.status_code
    body = _json_or_none(response)
    detail = _detail(body, response)
    said = f"Airbase answered {status}: {detail}"
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return AirbaseRateLimited(said, status=status, detail=detail, retry_after=retry_after)
    if status == 503:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return AirbaseUnavailable(said, status=status, detail=detail, retry_after=retry_after)
    if status >= 500:
        return AirbaseServerError(said, status=status, detail=detail)
    if status in (401, 403):
        return AirbaseCredentialsRefused(said, status=status, detail=detail)
    if status == 404:
        return AirbaseNotFound(said, status=status, detail=detail)
    if status == 400:
        field_errors = _field_errors(profile.from_api(body)) if isinstance(body, dict) else {}
        if field_errors:
            listed = "; ".join(f"{name}: {' '.join(says)}" for name, says in field_errors.items())
            said = f"Airbase refused the request (400): {listed}"
        return AirbaseValidationError(said, status=status, detail=detail, field_errors=field_errors)
    if 300 <= status < 400:
        # Django's APPEND_SLASH answers a path without its trailing slash with a 301.
        location = httpx.URL(response.headers.get("location", "")).copy_with(query=None)
        said = f"Airbase answered {status} to {location or 'nowhere'}: check the profile's paths"
    return AirbaseRequestError(said, status=status, detail=detail)


def _field_errors(body: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's 400 body flattened: ``{"expense_list": [{}, {"amount": ["..."]}]}`` becomes
    ``{"expense_list[1].amount": ["..."]}``; a bare ``detail`` is no field's."""
    if isinstance(body, str):
        return {prefix or "non_field_errors": [body]}
    if isinstance(body, dict):
        found: dict[str, list[str]] = {}
        for key, value in body.items():
            if not prefix and key == "detail":
                continue
            found.update(_field_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return found
    if isinstance(body, list):
        if all(isinstance(item, str) for item in body):
            return {prefix or "non_field_errors": list(body)} if body else {}
        found = {}
        for index, item in enumerate(body):
            found.update(_field_errors(item, f"{prefix}[{index}]"))
        return found
    return {}


def _detail(body: Any, response: httpx.Response) -> str:
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body["detail"])
    if body is not None:
        return str(body)[:_DETAIL_LIMIT]
    text = response.text.strip()
    return text[:_DETAIL_LIMIT] if text else response.reason_phrase or "no message"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise AirbaseUnreadable(f"Airbase's answer ({response.status_code}) is not JSON") from exc


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _integer(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
