"""How the monday client classes answers the sandbox does not produce: monday's older error
forms and codes, and network failures (httpx.MockTransport answers as monday documents)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from monday_client_kit import BASE_URL
from pydantic import SecretStr

from chassis.errors import PermanentError, RetryableError, SystemUnavailable
from monday_client import (
    MondayAuthError,
    MondayClient,
    MondayCursorExpired,
    MondayError,
    MondayInvalidInput,
    MondayRequestError,
    MondayUnavailable,
)

pytestmark = pytest.mark.anyio

ME = {"id": "1", "name": "u", "email": "u@x", "account": {"id": "9", "name": "a", "slug": "a"}}
COMPLEXITY = {"before": 1000, "after": 990, "query": 10, "reset_in_x_seconds": 60}


def _client(handler: Callable[[httpx.Request], httpx.Response], slept: list[float]) -> MondayClient:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return MondayClient(
        SecretStr("t"),
        base_url=BASE_URL,
        transport=httpx.MockTransport(handler),
        clock=lambda: 1_800_000_000.0,
        sleep=sleep,
    )


def _answers(*responses: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(responses)
    return lambda _request: queue.pop(0)


def _error(code: str, status: int = 200, **error_data: object) -> httpx.Response:
    body = {
        "errors": [{"message": code, "extensions": {"code": code, "error_data": error_data}}],
        "account_id": 1,
    }
    return httpx.Response(status, json=body)


OK = httpx.Response(200, json={"data": {"complexity": COMPLEXITY, "me": ME}})


async def test_the_legacy_complexity_error_waits_the_seconds_in_its_message() -> None:
    legacy = httpx.Response(
        200,
        json={
            "error_code": "ComplexityException",
            "status_code": 429,
            "error_message": "Complexity budget exhausted, query cost 30001 budget remaining "
            "8999 out of 1000000 reset in 40 seconds",
        },
    )
    slept: list[float] = []
    async with _client(_answers(legacy, OK), slept) as client:
        assert (await client.me()).id == "1"
    assert client.budget.waits == [40.0]


async def test_a_bare_429_waits_retry_after() -> None:
    slept: list[float] = []
    bare = httpx.Response(429, headers={"Retry-After": "12"})
    async with _client(_answers(bare, OK), slept) as client:
        await client.me()
    assert slept == [12.0]


@pytest.mark.parametrize(
    ("answer", "expected", "branch"),
    [
        (_error("UserUnauthorizedException", 403), MondayAuthError, PermanentError),
        (_error("missingRequiredPermissions"), MondayAuthError, PermanentError),
        (httpx.Response(401, text="Unauthorized"), MondayAuthError, PermanentError),
        (_error("INTERNAL_SERVER_ERROR"), MondayUnavailable, SystemUnavailable),
        (_error("CursorExpiredError"), MondayCursorExpired, RetryableError),
        (
            _error("ItemNameTooLongException", item_name="x" * 300),
            MondayInvalidInput,
            PermanentError,
        ),
        (_error("maxComplexityExceeded", complexity=6_000_000), MondayRequestError, PermanentError),
        (_error("GRAPHQL_VALIDATION_FAILED"), MondayRequestError, PermanentError),
        (httpx.Response(502, text="bad gateway"), MondayUnavailable, SystemUnavailable),
        (httpx.Response(200, text="<html>"), MondayRequestError, PermanentError),
    ],
)
async def test_answers_are_classed_by_whether_a_retry_helps(
    answer: httpx.Response, expected: type[MondayError], branch: type[Exception]
) -> None:
    async with _client(_answers(answer), []) as client:
        with pytest.raises(expected) as caught:
            await client.me()
    assert isinstance(caught.value, branch)


async def test_invalid_input_names_the_field_from_error_data() -> None:
    answer = _error("ColumnValueException", column_id="date_due", value="tomorrow")
    async with _client(_answers(answer), []) as client:
        with pytest.raises(MondayInvalidInput) as caught:
            await client.change_column_values("1", "2", {"date_due": "tomorrow"})
    assert caught.value.column_id == "date_due"
    assert (caught.value.field, caught.value.field_value) == ("column_id", "date_due")
    assert caught.value.error_data["value"] == "tomorrow"


@pytest.mark.parametrize(
    ("failure", "refused"),
    [(httpx.ConnectError("refused"), True), (httpx.ReadTimeout("slow"), False)],
)
async def test_network_failures_are_unavailable(failure: Exception, refused: bool) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    async with _client(fail, []) as client:
        with pytest.raises(MondayUnavailable) as caught:
            await client.create_item("1", item_name="x", column_values={})
    assert caught.value.refused is refused
    assert client.budget.left is None  # the held points were given back
