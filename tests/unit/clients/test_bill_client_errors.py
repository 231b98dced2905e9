"""bill_client's error tree: every answer BILL can give maps to one class that says
whether a retry helps, including the answers the sandbox never gives (no body, HTML from a
proxy, a 429 without BILL's code)."""

from __future__ import annotations

import httpx
import pytest

from bill_client import (
    BillAuthError,
    BillError,
    BillKeyWithheld,
    BillNotFound,
    BillRateLimited,
    BillUnavailable,
    BillUnreadable,
    BillValidationError,
)
from bill_client.errors import ErrorAnswer, error_for
from chassis.errors import ConnectorError, PermanentError, RetryableError, SystemUnavailable

pytestmark = pytest.mark.unit


def bill_body(code: str, category: str) -> list[dict[str, str]]:
    return [
        {
            "timestamp": "2026-03-02T10:00:00.000+00:00",
            "code": code,
            "severity": "ERROR",
            "category": category,
            "message": f"{code} happened",
        }
    ]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, bill_body("BDC_1144", "RATE_LIMIT"), BillRateLimited),
        (400, bill_body("BDC_1322", "RATE_LIMIT"), BillRateLimited),
        (429, None, BillRateLimited),
        (401, bill_body("BDC_1102", "AUTHENTICATION"), BillAuthError),
        (403, None, BillAuthError),
        (404, bill_body("BDC_1004", "NOT_FOUND"), BillNotFound),
        (400, bill_body("BDC_1001", "VALIDATION"), BillValidationError),
        (409, None, BillValidationError),
        (500, bill_body("BDC_1000", "SERVER"), BillUnavailable),
        (502, "<html>bad gateway</html>", BillUnavailable),
    ],
)
def test_each_answer_has_one_class(status: int, body: object, expected: type[BillError]) -> None:
    if isinstance(body, str):
        response = httpx.Response(status, text=body)
    else:
        response = httpx.Response(status, json=body)
    error = error_for(ErrorAnswer(response))
    assert type(error) is expected
    assert error.status == status
    if isinstance(body, list):
        assert error.code == body[0]["code"]
        assert body[0]["message"] in str(error)


def test_retry_after_is_carried() -> None:
    answer = ErrorAnswer(
        httpx.Response(400, json=bill_body("BDC_1144", "RATE_LIMIT"), headers={"Retry-After": "42"})
    )
    error = error_for(answer)
    assert isinstance(error, BillRateLimited)
    assert error.retry_after == 42


def test_every_class_says_whether_a_retry_helps() -> None:
    unavailable = (BillRateLimited, BillUnavailable)
    permanent = (BillAuthError, BillNotFound, BillValidationError, BillKeyWithheld)
    for cls in (*unavailable, *permanent, BillUnreadable):
        assert issubclass(cls, BillError)
        assert issubclass(cls, ConnectorError)
        assert issubclass(cls, RetryableError) != issubclass(cls, PermanentError)
    assert all(issubclass(cls, SystemUnavailable) for cls in unavailable)
    assert all(issubclass(cls, PermanentError) for cls in permanent)
    assert issubclass(BillUnreadable, RetryableError)
    assert not issubclass(BillUnreadable, SystemUnavailable)
