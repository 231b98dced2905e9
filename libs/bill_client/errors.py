"""BILL v3 failures, classed by whether a retry can help.

BILL answers a failed v3 call with ``[{timestamp, code, severity, category, message}]``;
the code and the category decide the class::

    BillError (ConnectorError)          `code`, `category`, `status` from BILL's body
    ├── BillRateLimited     SystemUnavailable  BDC_1144 (hourly call or login limit) or
    │                                          BDC_1322 (a 4th call in flight), still refused
    │                                          after the client's bounded retries
    ├── BillUnavailable     SystemUnavailable  a 5xx, or no answer (transport failure)
    ├── BillUnreadable      RetryableError     an answer not in the shape BILL documents
    ├── BillAuthError       PermanentError     wrong username, password, organization or
    │                                          devKey; a session refused right after login
    ├── BillNotFound        PermanentError     no such record or subscription
    ├── BillValidationError PermanentError     BILL refused the request's content
    └── BillKeyWithheld     PermanentError     a subscription answered without its one-time
                                               securityKey (an idempotent replay)

The invalid-session answer (``BDC_1109``) and the limit codes never reach a caller as such:
the client logs in again or waits and repeats, and raises only when that cannot help.
"""

from __future__ import annotations

from typing import Any

import httpx

from chassis.errors import (
    ConnectorError,
    CredentialRefused,
    PermanentError,
    RetryableError,
    SystemUnavailable,
)
from chassis.http import parse_retry_after

__all__ = [
    "INVALID_SESSION",
    "LIMIT_CODES",
    "BillAuthError",
    "BillError",
    "BillKeyWithheld",
    "BillNotFound",
    "BillRateLimited",
    "BillUnavailable",
    "BillUnreadable",
    "BillValidationError",
    "ErrorAnswer",
    "error_for",
    "read_error",
]

HOURLY_LIMIT = "BDC_1144"
CONCURRENCY_LIMIT = "BDC_1322"
LIMIT_CODES = frozenset({HOURLY_LIMIT, CONCURRENCY_LIMIT})
INVALID_SESSION = "BDC_1109"


class BillError(ConnectorError):
    """Root of every error raised by `bill_client`."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        category: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.category = category
        self.status = status


class _BillNotNow(BillError, SystemUnavailable):
    """BILL takes no call now; `retry_after` is its hint, if it gave one."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        category: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, category=category, status=status)
        self.retry_after = retry_after


class BillRateLimited(_BillNotNow):
    """BILL kept refusing for one of its limits (BDC_1144, BDC_1322)."""


class BillUnavailable(_BillNotNow):
    """BILL failed (5xx) or did not answer: no call works until it is back."""


class BillUnreadable(BillError, RetryableError):
    """BILL answered 2xx with a body the client cannot read (a page or record missing what
    BILL documents); a later read may succeed, and a record that never does ends in a DLQ."""


class BillAuthError(BillError, CredentialRefused):
    """The credentials (username, password, organization, devKey) are refused."""


class BillNotFound(BillError, PermanentError):
    """The record, subscription or path does not exist in this organization."""


class BillValidationError(BillError, PermanentError):
    """BILL refused what was sent (a filter, a body, an idempotency key reused)."""


class BillKeyWithheld(BillError, PermanentError):
    """BILL answered with an existing subscription and no securityKey: the key was shown
    once, to an earlier call, and cannot be read again. Delete it and subscribe anew."""

    def __init__(self, message: str, *, subscription_id: str) -> None:
        super().__init__(message)
        self.subscription_id = subscription_id


class ErrorAnswer:
    """The first entry of BILL's v3 error body, with the answer's status and Retry-After."""

    def __init__(self, response: httpx.Response) -> None:
        entry = _first_entry(response)
        self.status = response.status_code
        self.code = _text(entry.get("code"))
        self.category = _text(entry.get("category"))
        self.message = _text(entry.get("message")) or response.reason_phrase or "no message"
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))

    @property
    def rate_limited(self) -> bool:
        return self.code in LIMIT_CODES or self.status == 429

    @property
    def session_invalid(self) -> bool:
        return self.code == INVALID_SESSION

    def describe(self) -> str:
        return f"BILL answered {self.status} ({self.code or 'no code'}): {self.message}"


def read_error(response: httpx.Response) -> ErrorAnswer | None:
    """None for a success, else what BILL said went wrong."""
    return None if response.is_success else ErrorAnswer(response)


def error_for(answer: ErrorAnswer) -> BillError:
    """The typed error a caller gets for `answer` (once retrying or re-login cannot help)."""
    fields: dict[str, Any] = {
        "code": answer.code,
        "category": answer.category,
        "status": answer.status,
    }
    text = answer.describe()
    if answer.rate_limited:
        return BillRateLimited(text, retry_after=answer.retry_after, **fields)
    if answer.status >= 500:
        return BillUnavailable(text, retry_after=answer.retry_after, **fields)
    if answer.category == "AUTHENTICATION" or answer.status in (401, 403):
        return BillAuthError(text, **fields)
    if answer.category == "NOT_FOUND" or answer.status == 404:
        return BillNotFound(text, **fields)
    return BillValidationError(text, **fields)


def _first_entry(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0]
    return body if isinstance(body, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
