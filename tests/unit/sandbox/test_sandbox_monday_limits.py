"""The monday sandbox's limits: complexity budget, calls a minute and a day, concurrency.

Windows run on the sandbox clock: the tests freeze it and move it forward, nothing waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from monday_kit import AUTH, BOARD, CREATE, PAGE, create, gql, post
from sandbox_kit import START

from sandbox import SandboxConfig, create_app

pytestmark = pytest.mark.anyio

ME = "query { me { id } }"


def _config(clock_speed: float = 0, **monday: Any) -> SandboxConfig:
    return SandboxConfig.model_validate(
        {"clock_speed": clock_speed, "clock_start": START, "monday": monday}
    )


@pytest.fixture
def build(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> Callable[..., httpx.AsyncClient]:
    def make(clock_speed: float = 0, **monday: Any) -> httpx.AsyncClient:
        return make_client(create_app(_config(clock_speed, **monday)))

    return make


@pytest.fixture
async def small_budget(build: Callable[..., httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    async with build(complexity_budget_per_minute=25_000, mutation_cost=10_000) as client:
        yield client


async def _advance(client: httpx.AsyncClient, seconds: float) -> None:
    response = await client.post("/monday/_sandbox/clock", json={"advance_seconds": seconds})
    assert response.status_code == 200


async def test_complexity_reports_the_budget_before_and_after(
    small_budget: httpx.AsyncClient,
) -> None:
    data = await gql(small_budget, PAGE, {"board": BOARD, "limit": 10})
    complexity = data["complexity"]
    assert complexity["before"] == 25_000
    assert complexity["query"] > 0
    assert complexity["after"] == 25_000 - complexity["query"]
    assert complexity["reset_in_x_seconds"] == 60


async def test_an_exhausted_budget_says_when_to_retry(small_budget: httpx.AsyncClient) -> None:
    await create(small_budget, "one", {})
    await create(small_budget, "two", {})
    await _advance(small_budget, 15)
    response = await post(small_budget, CREATE, {"board": BOARD, "name": "three", "values": {}})
    assert response.status_code == 429
    error = response.json()["errors"][0]
    assert error["message"] == "Complexity budget exhausted"
    assert error["extensions"] == {"code": "COMPLEXITY_BUDGET_EXHAUSTED", "retry_in_seconds": 45}
    items = await small_budget.get(f"/monday/_sandbox/boards/{BOARD}/items")
    assert [i["name"] for i in items.json()] == ["one", "two"]
    await _advance(small_budget, 45)
    assert (
        await post(small_budget, CREATE, {"board": BOARD, "name": "3", "values": {}})
    ).is_success
    stats = (await small_budget.get("/monday/_sandbox/stats")).json()
    assert stats["refusals"] == {"COMPLEXITY_BUDGET_EXHAUSTED": 1}


async def test_the_minute_call_limit_answers_429_with_retry_after(
    build: Callable[..., httpx.AsyncClient],
) -> None:
    async with build(calls_per_minute=3) as client:
        for _ in range(3):
            await gql(client, ME)
        await _advance(client, 20)
        refused = await post(client, ME)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "40"
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMIT_EXCEEDED"
        await _advance(client, 40)
        await gql(client, ME)


async def test_retry_after_is_in_real_seconds_on_a_fast_clock(
    build: Callable[..., httpx.AsyncClient],
) -> None:
    async with build(calls_per_minute=1) as client:
        await gql(client, ME)
        await client.post("/monday/_sandbox/clock", json={"speed": 60})
        refused = await post(client, ME)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"


async def test_reset_in_x_seconds_is_in_real_seconds_on_a_fast_clock(
    build: Callable[..., httpx.AsyncClient],
) -> None:
    # A client waits reset_in_x_seconds before a call that would not fit, as it waits
    # retry_in_seconds after a refusal: both must be real seconds at any clock speed.
    async with build() as client:
        await client.post("/monday/_sandbox/clock", json={"speed": 60})
        data = await gql(client, PAGE, {"board": BOARD, "limit": 1})
        assert data["complexity"]["reset_in_x_seconds"] == 1


async def test_a_mutation_reports_its_complexity_and_reading_it_costs_no_mutation(
    small_budget: httpx.AsyncClient,
) -> None:
    document = """
    mutation ($board: ID!, $name: String!) {
      complexity { before after query reset_in_x_seconds }
      create_item(board_id: $board, item_name: $name) { id }
    }"""
    data = await gql(small_budget, document, {"board": BOARD, "name": "costed"})
    complexity = data["complexity"]
    assert complexity["before"] == 25_000
    assert 10_000 < complexity["query"] < 10_100  # one mutation, not two
    assert complexity["after"] == 25_000 - complexity["query"]
    assert data["create_item"]["id"]


async def test_the_daily_limit_holds_until_midnight_utc(
    build: Callable[..., httpx.AsyncClient],
) -> None:
    async with build(daily_call_limit=2) as client:
        await gql(client, ME)
        await gql(client, ME)
        refused = await post(client, ME)
        assert refused.status_code == 429
        extensions = refused.json()["errors"][0]["extensions"]
        assert extensions["code"] == "DAILY_LIMIT_EXCEEDED"
        assert extensions["retry_in_seconds"] == 14 * 3600  # START is 10:00 UTC
        await _advance(client, 14 * 3600 - 1)
        assert (await post(client, ME)).status_code == 429
        await _advance(client, 1)
        await gql(client, ME)


async def test_limits_can_be_changed_at_run_time(build: Callable[..., httpx.AsyncClient]) -> None:
    async with build() as client:
        changed = await client.patch("/monday/_sandbox/limits", json={"daily_call_limit": 1})
        assert changed.json()["daily_call_limit"] == 1
        await gql(client, ME)
        assert (await post(client, ME)).status_code == 429


async def test_mutations_in_flight_are_recorded_per_board(
    build: Callable[..., httpx.AsyncClient],
) -> None:
    async with build(clock_speed=1, mutation_latency_seconds=0.05) as client:
        await create(client, "alone", {})
        stats = (await client.get("/monday/_sandbox/stats")).json()
        assert stats["max_mutations_in_flight"] == {BOARD: 1}
        await asyncio.gather(create(client, "a", {}), create(client, "b", {}))
        stats = (await client.get("/monday/_sandbox/stats")).json()
        assert stats["max_mutations_in_flight"] == {BOARD: 2}
        assert stats["api_versions"] == [AUTH["API-Version"]]


async def test_too_many_concurrent_requests_are_refused(
    build: Callable[..., httpx.AsyncClient],
) -> None:
    async with build(clock_speed=1, mutation_latency_seconds=0.05, max_concurrent_requests=1) as c:
        answers = await asyncio.gather(
            post(c, CREATE, {"board": BOARD, "name": "a", "values": {}}),
            post(c, CREATE, {"board": BOARD, "name": "b", "values": {}}),
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 429]
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["errors"][0]["extensions"]["code"] == "maxConcurrencyExceeded"


async def test_a_query_above_the_per_query_cap_is_a_permanent_error(
    build: Callable[..., httpx.AsyncClient],
) -> None:
    async with build(complexity_per_query_limit=100) as client:
        response = await post(client, PAGE, {"board": BOARD, "limit": 500})
        assert response.status_code == 200
        extensions = response.json()["errors"][0]["extensions"]
        assert extensions["code"] == "maxComplexityExceeded"
        assert extensions["error_data"]["max_complexity"] == 100
        data = await gql(client, PAGE, {"board": BOARD, "limit": 1})
        assert data["complexity"]["before"] == 10_000_000  # the refused query spent nothing


async def test_injected_faults_answer_in_mondays_error_shape(
    build: Callable[..., httpx.AsyncClient],
) -> None:
    async with build() as client:
        for rule in ({"status": 429, "retry_after": 7}, {"status": 503}):
            added = await client.post("/monday/_sandbox/faults", json=rule)
            assert added.status_code == 201
        throttled = await post(client, ME)
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "7"
        assert throttled.json()["errors"][0]["extensions"]["code"] == "RATE_LIMIT_EXCEEDED"
        down = await post(client, ME)
        assert down.status_code == 503
        assert down.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        await gql(client, ME)
