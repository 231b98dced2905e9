"""BillClient within BILL's limits, against the BILL sandbox: BDC_1144 and BDC_1322 waited
out (BILL's Retry-After when it gives one, else growing backoff) a bounded number of
times and then raised as retryable; 5xx and transport failures unavailable; and the
client's own cap of 3 calls in flight, measured by the sandbox's most-in-flight count."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest
from bill_client_kit import BASE_URL, EVENTS_URL, ORG, demo_credentials, rig

from bill_client import BillClient, BillRateLimited, BillUnavailable, LimitRetry
from chassis.errors import RetryableError, SystemUnavailable

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

VENDORS = "/connect/v3/vendors"


async def test_the_limit_code_is_waited_out_as_bill_asks() -> None:
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB")
        await r.client.vendor(vendor["id"])
        await r.admin(
            "POST", "/faults", {"status": 400, "retry_after": 7, "times": 2, "path_prefix": VENDORS}
        )
        assert (await r.client.vendor(vendor["id"])).id == vendor["id"]
        assert r.time.slept == [7.0, 7.0]
        assert (await r.stats())["logins"] == {ORG: 1}


async def test_a_limit_that_persists_is_raised_retryable_after_bounded_backoff() -> None:
    async with rig(requests_per_hour=3) as r:
        vendor = await r.vendor("Nordic Paper AB")
        for _ in range(3):
            await r.client.vendor(vendor["id"])
        with pytest.raises(BillRateLimited) as limited:
            await r.client.vendor(vendor["id"])
        assert limited.value.code == "BDC_1144"
        assert isinstance(limited.value, SystemUnavailable)
        # Four attempts (the kit's LimitRetry), three growing waits between them.
        assert len(r.time.slept) == 3
        assert r.time.slept == sorted(r.time.slept)
        assert (await r.stats())["refusals"]["BDC_1144"] == 4


async def test_a_retry_after_longer_than_the_client_waits_is_raised_at_once() -> None:
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB")
        await r.client.vendor(vendor["id"])
        await r.admin(
            "POST", "/faults", {"status": 400, "retry_after": 3600, "path_prefix": VENDORS}
        )
        with pytest.raises(BillRateLimited) as limited:
            await r.client.vendor(vendor["id"])
        assert limited.value.retry_after == 3600
        assert r.time.slept == []


async def test_the_login_limit_is_retryable_not_an_auth_failure() -> None:
    async with rig(logins_per_hour=1) as r:
        vendor = await r.vendor("Nordic Paper AB")
        await r.client.vendor(vendor["id"])
        await r.admin("POST", "/sessions/expire", {"organization_id": ORG})
        with pytest.raises(BillRateLimited) as limited:
            await r.client.vendor(vendor["id"])
        assert limited.value.code == "BDC_1144"
        assert r.client.logins_made == 1


async def test_a_server_error_is_unavailable() -> None:
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB")
        await r.admin("POST", "/faults", {"status": 503, "retry_after": 30, "path_prefix": VENDORS})
        with pytest.raises(BillUnavailable) as down:
            await r.client.vendor(vendor["id"])
        assert (down.value.status, down.value.code, down.value.retry_after) == (503, "BDC_1000", 30)
        assert isinstance(down.value, SystemUnavailable)


async def test_no_answer_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = BillClient(
        demo_credentials(),
        base_url=BASE_URL,
        events_base_url=EVENTS_URL,
        transport=httpx.MockTransport(refuse),
    )
    async with client:
        with pytest.raises(BillUnavailable) as down:
            await client.vendor("00901000000000000001")
    assert isinstance(down.value, RetryableError)
    assert "ConnectError" in str(down.value)


async def test_never_more_than_three_calls_in_flight() -> None:
    # The sandbox clock runs (100x) so each call takes 2 sandbox seconds (20 ms) and
    # concurrent calls really overlap on the server.
    async with rig(clock_speed=100, request_latency_seconds=2) as r:
        vendor = await r.vendor("Nordic Paper AB")
        found = await asyncio.gather(*(r.client.vendor(vendor["id"]) for _ in range(24)))
        assert len(found) == 24
        stats = await r.stats()
        assert stats["most_in_flight"] == {ORG: 3}
        assert "BDC_1322" not in stats["refusals"]


async def test_without_the_cap_bill_refuses_and_the_client_retries_the_refused_calls() -> None:
    # The same load with a cap of 6 shows the measure can fail: BILL refuses the 4th call
    # in flight with BDC_1322, and the client's retries (real 10 ms waits) still answer all.
    async with rig(clock_speed=100, request_latency_seconds=2) as r:
        vendor = await r.vendor("Nordic Paper AB")
        uncapped = BillClient(
            demo_credentials(),
            base_url=BASE_URL,
            events_base_url=EVENTS_URL,
            transport=httpx.ASGITransport(app=r.app),
            max_in_flight=6,
            rng=random.Random(3),
            limit_retry=LimitRetry(
                max_attempts=50, base_delay_seconds=0.005, max_wait_seconds=0.02
            ),
        )
        async with uncapped:
            found = await asyncio.gather(*(uncapped.vendor(vendor["id"]) for _ in range(24)))
        assert len(found) == 24
        stats = await r.stats()
        assert stats["most_in_flight"] == {ORG: 3}
        assert stats["refusals"]["BDC_1322"] > 0


async def test_a_failed_login_fails_the_calls_waiting_for_it_without_more_logins() -> None:
    async with rig(logins_per_hour=1) as r:
        vendor = await r.vendor("Nordic Paper AB")
        await r.client.vendor(vendor["id"])
        await r.admin("POST", "/sessions/expire", {"organization_id": ORG})
        calls = [r.client.vendor(vendor["id"]) for _ in range(9)]
        failed = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(f, BillRateLimited) for f in failed)
        logins = [q for q in r.transport.requests if q.url.path.endswith("/login")]
        # The first login, then one re-login's 4 attempts (the kit's LimitRetry): the
        # other 8 calls that met the dead session share its failure.
        assert len(logins) == 1 + 4
