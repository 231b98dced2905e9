"""The monday client under monday's limits, against the sandbox on a frozen clock.

The client's sleep moves the sandbox clock forward, so a wait is a number of sandbox seconds
the test can check, and no test waits in real time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

import httpx
import pytest
from monday_client_kit import BASE_URL, BOARD, rig, sandbox_app
from pydantic import SecretStr

from chassis.errors import PermanentError, RetryableError, SystemUnavailable
from monday_client import (
    LimitPolicy,
    MondayClient,
    MondayDailyLimitReached,
    MondayRateLimited,
    MondayUnavailable,
)
from sandbox.monday.config import DEMO_MONDAY_TOKEN

pytestmark = pytest.mark.anyio

SMALL_BUDGET = {"complexity_budget_per_minute": 25_000, "mutation_cost": 10_000}


async def test_the_budget_makes_a_call_wait_before_it_is_sent_not_after_a_refusal() -> None:
    async with rig(**SMALL_BUDGET) as r:
        ids = [
            await r.client.create_item(BOARD, item_name=f"item {n}", column_values={})
            for n in range(5)
        ]
        stats = r.monday.refusals
    assert len(set(ids)) == 5
    assert stats == {}  # monday never had to refuse: the client waited first
    # two creates fit in a 25,000-point minute; the client waited for the reset twice
    assert len(r.client.budget.waits) == 2
    assert all(0 < wait <= 60 for wait in r.client.budget.waits)
    assert r.time.slept == r.client.budget.waits


async def test_concurrent_calls_share_the_budget_without_a_refusal() -> None:
    async with rig(**SMALL_BUDGET) as r:
        ids = await asyncio.gather(
            *(
                r.client.create_item(BOARD, item_name=f"item {n}", column_values={})
                for n in range(7)
            )
        )
    assert len(set(ids)) == 7
    assert r.monday.refusals == {}
    assert len(r.transport.requests) == 7  # each call sent once


async def test_clients_of_one_token_sharing_a_budget_are_never_refused() -> None:
    async with rig(**SMALL_BUDGET) as r, r.another_client(budget=r.client.budget) as other:
        for n in range(3):
            await r.client.create_item(BOARD, item_name=f"a{n}", column_values={})
            await other.create_item(BOARD, item_name=f"b{n}", column_values={})
    assert r.monday.refusals == {}
    assert len(r.monday.board(BOARD).items) == 6


async def test_an_exhausted_budget_waits_retry_in_seconds_then_succeeds() -> None:
    async with rig(**SMALL_BUDGET) as r, r.another_client() as other:
        # another process on the same token spends the budget the client does not know about
        await other.create_item(BOARD, item_name="a", column_values={})
        await other.create_item(BOARD, item_name="b", column_values={})
        r.time.clock.advance(15)
        item_id = await r.client.create_item(BOARD, item_name="c", column_values={})
    assert item_id
    assert r.monday.refusals == {"COMPLEXITY_BUDGET_EXHAUSTED": 1}
    assert r.time.slept == [45]  # the sandbox's retry_in_seconds: the rest of its minute
    assert len(r.transport.requests) == 2


async def test_a_429_waits_retry_after() -> None:
    async with rig() as r:
        await r.fault(status=429, retry_after=7, times=2)
        me = await r.client.me()
    assert me.id
    assert r.time.slept == [7, 7]
    assert len(r.transport.requests) == 3


async def test_the_per_minute_call_limit_waits_retry_after() -> None:
    async with rig(calls_per_minute=2) as r:
        await r.client.me()
        r.time.clock.advance(20)
        await r.client.me()
        await r.client.me()
    assert r.monday.refusals == {"RATE_LIMIT_EXCEEDED": 1}
    assert r.time.slept == [40]  # the rest of the sandbox's minute, from Retry-After


async def test_a_retry_after_beyond_the_policy_is_raised_with_the_wait() -> None:
    async with rig(limits=LimitPolicy(max_wait_seconds=30)) as r:
        await r.fault(status=429, retry_after=300, times=1)
        with pytest.raises(MondayRateLimited) as caught:
            await r.client.me()
    assert caught.value.retry_after == 300
    assert isinstance(caught.value, SystemUnavailable)
    assert r.time.slept == []


async def test_concurrency_refusals_back_off_exponentially_with_jitter() -> None:
    async with rig(max_concurrent_requests=1) as r:
        r.monday.requests_in_flight = 1  # another caller holds the only slot

        async def sleep(seconds: float) -> None:
            r.time.slept.append(seconds)
            if len(r.time.slept) == 3:
                r.monday.requests_in_flight = 0  # ... and finishes

        r.client._sleep = sleep
        me = await r.client.me()
    assert me.id
    assert r.monday.refusals == {"maxConcurrencyExceeded": 3}
    first, second, third = r.time.slept
    assert 0 <= first <= 0.5
    assert 0 <= second <= 1.0
    assert 0 <= third <= 2.0
    assert len(set(r.time.slept)) == 3  # jittered, not a fixed step


async def test_concurrency_refusals_end_after_bounded_attempts_as_retryable() -> None:
    async with rig(max_concurrent_requests=1, limits=LimitPolicy(max_attempts=4)) as r:
        r.monday.requests_in_flight = 1
        with pytest.raises(MondayRateLimited) as caught:
            await r.client.me()
    assert isinstance(caught.value, RetryableError)
    assert caught.value.code == "maxConcurrencyExceeded"
    assert len(r.transport.requests) == 4
    assert len(r.time.slept) == 3


async def test_the_daily_limit_is_raised_with_its_reset_and_not_slept_on() -> None:
    async with rig(daily_call_limit=2) as r:
        await r.client.me()
        await r.client.me()
        with pytest.raises(MondayDailyLimitReached) as caught:
            await r.client.board(BOARD)
    assert caught.value.resets_at == datetime(2026, 3, 3, tzinfo=UTC)  # midnight UTC
    assert caught.value.retry_after == 14 * 3600
    assert isinstance(caught.value, RetryableError)
    assert r.time.slept == []
    assert len(r.transport.requests) == 3


async def test_server_errors_are_unavailable_and_say_whether_monday_refused() -> None:
    async with rig() as r:
        await r.fault(status=503, times=1)
        with pytest.raises(MondayUnavailable) as outage:
            await r.client.me()
        await r.fault(status=500, times=1)
        with pytest.raises(MondayUnavailable) as failure:
            await r.client.create_item(BOARD, item_name="x", column_values={})
    assert isinstance(outage.value, SystemUnavailable)
    assert outage.value.refused
    assert not failure.value.refused  # a 500 on a mutation: it may have been applied
    assert not isinstance(failure.value, PermanentError)


async def test_on_a_fast_sandbox_clock_real_waits_follow_its_time_scale() -> None:
    # The sandbox runs 60 times faster than real time (its minute is 1 s); the client
    # uses the real clock and sleep, and monday's seconds come back as real seconds.
    app = sandbox_app(clock_speed=60, **SMALL_BUDGET)
    client = MondayClient(
        SecretStr(DEMO_MONDAY_TOKEN), base_url=BASE_URL, transport=httpx.ASGITransport(app=app)
    )
    async with client:
        started = time.monotonic()
        for n in range(5):
            await client.create_item(BOARD, item_name=f"fast {n}", column_values={})
        elapsed = time.monotonic() - started
    state = app.state.sandbox.monday
    assert len(state.board(BOARD).items) == 5
    assert state.refusals == {}
    # two creates fit in a window: the client waited at least once (more windows may pass
    # unseen on a busy machine), never longer than the sandbox's minute in real seconds
    assert 1 <= len(client.budget.waits) <= 2
    assert all(wait <= 1.0 for wait in client.budget.waits)  # 60 s / 60 = 1 s at most
    assert elapsed < 10


async def test_no_log_line_carries_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with rig(**SMALL_BUDGET) as r:
        await r.fault(status=429, retry_after=2, times=1)
        for n in range(3):
            await r.client.create_item(BOARD, item_name=f"logged {n}", column_values={})
    assert r.time.slept  # a limit wait was logged
    assert caplog.records
    assert DEMO_MONDAY_TOKEN not in caplog.text
    assert all(DEMO_MONDAY_TOKEN not in repr(vars(record)) for record in caplog.records)
