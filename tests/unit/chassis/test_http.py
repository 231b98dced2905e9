"""RetryTransport: which failures are retried, how long it waits, and when it gives up."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from chassis.http import (
    SAFE_TO_REPEAT,
    RetryPolicy,
    RetryTransport,
    build_async_client,
    parse_retry_after,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    """An injected sleep and on_retry callback that only record."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.retries: list[tuple[int, int | None, float]] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def on_retry(self, attempt: int, status: int | None, wait: float) -> None:
        self.retries.append((attempt, status, wait))


def scripted(*responses: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[int]]:
    """A transport that answers with `responses` in order; counts calls."""
    calls = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        item = responses[min(calls[0], len(responses) - 1)]
        calls[0] += 1
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handler), calls


def client(
    transport: httpx.AsyncBaseTransport,
    rec: Recorder,
    policy: RetryPolicy | None = None,
    now: Callable[[], datetime] = lambda: NOW,
) -> httpx.AsyncClient:
    retrying = RetryTransport(
        transport,
        policy=policy or RetryPolicy(),
        sleep=rec.sleep,
        on_retry=rec.on_retry,
        rng=random.Random(7),
        now=now,
    )
    return httpx.AsyncClient(base_url="https://api.test", transport=retrying)


@pytest.mark.anyio
async def test_429_waits_exactly_the_retry_after_seconds() -> None:
    transport, calls = scripted(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": 1})
    )
    rec = Recorder()
    async with client(transport, rec) as http:
        response = await http.post("/x", json={})
    assert response.status_code == 200
    assert calls[0] == 2
    assert rec.sleeps == [7.0]
    assert rec.retries == [(1, 429, 7.0)]


@pytest.mark.anyio
async def test_retry_after_as_http_date() -> None:
    transport, _ = scripted(
        httpx.Response(503, headers={"Retry-After": "Sun, 01 Mar 2026 12:00:30 GMT"}),
        httpx.Response(200),
    )
    rec = Recorder()
    async with client(transport, rec) as http:
        assert (await http.get("/x")).status_code == 200
    assert rec.sleeps == [30.0]


@pytest.mark.anyio
async def test_retry_after_longer_than_max_wait_returns_the_429() -> None:
    transport, calls = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    rec = Recorder()
    async with client(transport, rec, RetryPolicy(max_wait_seconds=60)) as http:
        response = await http.get("/x")
    assert response.status_code == 429
    assert calls[0] == 1
    assert rec.sleeps == []


@pytest.mark.anyio
async def test_gives_back_last_response_after_max_attempts() -> None:
    transport, calls = scripted(httpx.Response(503))
    rec = Recorder()
    policy = RetryPolicy(max_attempts=3, base_delay_seconds=1.0, max_wait_seconds=1.5)
    async with client(transport, rec, policy) as http:
        response = await http.get("/x")
    assert response.status_code == 503
    assert calls[0] == 3
    assert len(rec.sleeps) == 2
    # Full jitter: uniform in [0, min(max_wait, base * 2**(attempt-1))].
    assert 0.0 <= rec.sleeps[0] <= 1.0
    assert 0.0 <= rec.sleeps[1] <= 1.5
    assert [r[0] for r in rec.retries] == [1, 2]


@pytest.mark.anyio
async def test_500_is_not_retried_by_default() -> None:
    transport, calls = scripted(httpx.Response(500), httpx.Response(200))
    rec = Recorder()
    async with client(transport, rec) as http:
        assert (await http.get("/x")).status_code == 500
    assert calls[0] == 1


@pytest.mark.anyio
async def test_server_errors_retried_only_when_safe_to_repeat() -> None:
    policy = RetryPolicy(retry_server_errors=True)
    rec = Recorder()
    transport, calls = scripted(httpx.Response(502), httpx.Response(200))
    async with client(transport, rec, policy) as http:
        assert (await http.post("/x")).status_code == 502
    assert calls[0] == 1

    transport, calls = scripted(httpx.Response(502), httpx.Response(200))
    async with client(transport, rec, policy) as http:
        assert (await http.get("/x")).status_code == 200
    assert calls[0] == 2

    transport, calls = scripted(httpx.Response(504), httpx.Response(200))
    async with client(transport, rec, policy) as http:
        response = await http.post("/x", extensions={SAFE_TO_REPEAT: True})
    assert response.status_code == 200
    assert calls[0] == 2


@pytest.mark.anyio
async def test_connect_errors_retried_for_get_but_raised_for_post() -> None:
    rec = Recorder()
    transport, calls = scripted(httpx.ConnectError("refused"), httpx.Response(200))
    async with client(transport, rec) as http:
        assert (await http.get("/x")).status_code == 200
    assert calls[0] == 2
    assert rec.retries[0][1] is None

    transport, calls = scripted(httpx.ReadTimeout("slow"), httpx.Response(200))
    async with client(transport, rec) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post("/x")
    assert calls[0] == 1


@pytest.mark.anyio
async def test_transport_error_reraised_after_last_attempt() -> None:
    rec = Recorder()
    transport, calls = scripted(httpx.ConnectError("down"))
    async with client(transport, rec, RetryPolicy(max_attempts=2)) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/x")
    assert calls[0] == 2


@pytest.mark.anyio
async def test_build_async_client_without_retry_passes_429_through() -> None:
    transport, calls = scripted(httpx.Response(429, headers={"Retry-After": "1"}))
    async with build_async_client("https://api.test", transport=transport, retry=None) as http:
        assert (await http.get("/x")).status_code == 429
    assert calls[0] == 1


@pytest.mark.anyio
async def test_build_async_client_retries_by_default() -> None:
    rec = Recorder()
    transport, calls = scripted(
        httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200)
    )
    async with build_async_client(
        "https://api.test", transport=transport, sleep=rec.sleep, on_retry=rec.on_retry
    ) as http:
        response = await http.get("/x")
        assert str(response.request.url) == "https://api.test/x"
    assert response.status_code == 200
    assert rec.sleeps == [2.0]
    assert calls[0] == 2


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("5", 5.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Sun, 01 Mar 2026 12:01:00 GMT", 60.0),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_policy_rejects_zero_attempts() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
