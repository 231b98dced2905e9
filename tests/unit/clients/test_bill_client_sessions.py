"""BillClient's one session per organization, against the BILL sandbox (35 minutes idle,
200 logins an hour, forced expiry): reused across calls, replaced before its idle expiry
and once per forced expiry however many calls were in flight, never a login per call."""

from __future__ import annotations

import asyncio
import logging

import pytest
from bill_client_kit import ORG, demo_credentials, rig

from bill_client import BillAuthError, BillNotFound

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

MINUTE = 60.0


async def test_one_login_serves_every_call() -> None:
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB")
        for _ in range(25):
            assert (await r.client.vendor(vendor["id"])).name == "Nordic Paper AB"
        assert r.client.logins_made == 1
        assert (await r.stats())["logins"] == {ORG: 1}
        logins = [q for q in r.transport.requests if q.url.path.endswith("/login")]
        assert len(logins) == 1


async def test_concurrent_first_calls_share_one_login() -> None:
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB")
        await asyncio.gather(*(r.client.vendor(vendor["id"]) for _ in range(12)))
        assert r.client.logins_made == 1
        assert (await r.stats())["logins"] == {ORG: 1}


async def test_a_session_used_within_its_idle_time_is_kept() -> None:
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB")
        for _ in range(6):  # three hours, a call every 30 minutes
            await r.client.vendor(vendor["id"])
            r.passes(30 * MINUTE)
        assert r.client.logins_made == 1


async def test_an_idle_session_is_replaced_before_it_expires() -> None:
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB")
        await r.client.vendor(vendor["id"])
        r.passes(34 * MINUTE)  # one minute before BILL's 35: too close to trust
        await r.client.vendor(vendor["id"])
        r.passes(36 * MINUTE)  # past the expiry
        await r.client.vendor(vendor["id"])
        stats = await r.stats()
        assert r.client.logins_made == 3
        assert stats["logins"] == {ORG: 3}
        # The client never sent a dead session: BILL found none expired.
        assert stats["sessions_found_expired"] == {}
        assert "BDC_1109" not in stats["refusals"]


async def test_a_forced_expiry_costs_one_login_and_no_failed_call() -> None:
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB")
        await r.client.vendor(vendor["id"])
        for round_ in range(3):
            await r.admin("POST", "/sessions/expire", {"organization_id": ORG})
            found = await asyncio.gather(*(r.client.vendor(vendor["id"]) for _ in range(9)))
            assert {v.id for v in found} == {vendor["id"]}
            assert r.client.logins_made == 2 + round_
        stats = await r.stats()
        assert stats["logins"] == {ORG: 4}
        # Every call that met the dead session was answered after the one re-login.
        assert stats["refusals"]["BDC_1109"] >= 3


async def test_a_day_of_expiries_costs_one_login_each_far_below_the_limit() -> None:
    async with rig(logins_per_hour=200) as r:
        vendor = await r.vendor("Nordic Paper AB")
        for cycle in range(24):
            for _ in range(4):  # busy: a call every 14 minutes keeps the session
                await r.client.vendor(vendor["id"])
                r.passes(14 * MINUTE)
            await r.admin("POST", "/sessions/expire", {"organization_id": ORG})
            await r.client.vendor(vendor["id"])
            r.passes(40 * MINUTE)  # then idle past the expiry
            # One login opening each cycle (the first, then one per idle expiry) and one
            # per forced expiry: never a login per call.
            assert r.client.logins_made == 2 * (cycle + 1)
        stats = await r.stats()
        assert stats["logins"] == {ORG: 48}
        assert stats["sessions_found_expired"] == {"ended": 24}
        assert "BDC_1144" not in stats["refusals"]


async def test_concurrent_calls_after_an_idle_expiry_share_one_login() -> None:
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB")
        await r.client.vendor(vendor["id"])
        r.passes(36 * MINUTE)
        found = await asyncio.gather(*(r.client.vendor(vendor["id"]) for _ in range(9)))
        assert {v.id for v in found} == {vendor["id"]}
        assert r.client.logins_made == 2
        assert (await r.stats())["sessions_found_expired"] == {}


async def test_wrong_password_is_a_permanent_auth_error_and_logs_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with rig() as r:
        credentials = demo_credentials(password="not-the-password-4711")
        async with r.client_for(credentials) as client:
            with pytest.raises(BillAuthError) as refused:
                await client.vendor("00901000000000000001")
        assert refused.value.code == "BDC_1102"
        assert client.logins_made == 0
        text = caplog.text + str(refused.value) + repr(credentials)
        assert "not-the-password-4711" not in text
        assert credentials.dev_key.get_secret_value() not in text


async def test_unknown_dev_key_is_a_permanent_auth_error() -> None:
    async with rig() as r, r.client_for(demo_credentials(dev_key="no-such-devkey")) as client:
        with pytest.raises(BillAuthError):
            await client.vendor("00901000000000000001")


async def test_session_id_and_dev_key_never_reach_a_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB")
        await r.client.vendor(vendor["id"])
        await r.admin("POST", "/sessions/expire", {"organization_id": ORG})
        await r.client.vendor(vendor["id"])
        with pytest.raises(BillNotFound):
            await r.client.bill("00n01000000000009999")
        sessions = {
            q.headers["sessionId"] for q in r.transport.requests if "sessionId" in q.headers
        }
        assert len(sessions) == 2
        for secret in (*sessions, demo_credentials().dev_key.get_secret_value()):
            assert secret not in caplog.text
