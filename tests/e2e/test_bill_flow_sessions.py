"""Issue 13 acceptance: BILL sessions expire mid-run, idle and forced, and the flow goes on.

Every service is a process on the real broker. The bill-poller holds one BILL session per
organization; BILL ends it after 35 minutes idle (here the sandbox clock is moved on past
that, mid-run) or at will (the sandbox's forced expiry). Each time the poller must sign in
once, lose no call to it, and keep every change flowing (30 % of webhooks are dropped, so
the poll carries a third of them). The BILL sandbox counts the logins.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import count
from typing import Any

import pytest

from mlc.bill_stack import BillFlow
from mlc.stack import FlowStack
from sandbox.bill.config import DEMO_ORGANIZATION_ID
from tests.e2e.bill_world import BillWorld

pytestmark = pytest.mark.e2e

IDLE_SECONDS = 35 * 60


def changes(world: BillWorld, numbers: count[int], *, vendors: int = 4) -> None:
    """A BILL user's morning: new vendors with two bills each, one older bill changed."""
    for _ in range(vendors):
        n = next(numbers)
        vendor = world.new_vendor(n)
        for k in range(2):
            world.new_bill(vendor["id"], f"S-{n:02d}-{k}", [100.0 * (n + 1) + k])
    if len(world.bills) > 2 * vendors:
        world.change_bill(next(iter(world.bills)), [77.0, float(next(numbers))])


def test_idle_and_forced_session_expiry_mid_run_cost_one_login_each_and_no_call(
    make_stack: Callable[..., FlowStack],
) -> None:
    started = time.monotonic()
    stack = make_stack(
        invoices=0,
        sandbox_args=("--bill-drop-rate", "0.3"),
        bill=BillFlow(poll_every=2.0),
    )
    stack.start_sandbox()
    stack.start_bill_flow()  # `mlc bill subscribe` signs in once, the poller once
    world = BillWorld(stack)
    numbers = count()

    def stats() -> dict[str, Any]:
        found: dict[str, Any] = world.bill_admin("GET", "/stats")
        return found

    changes(world, numbers)
    world.wait("the first changes in Visma", world.settled)
    assert stats()["logins"] == {DEMO_ORGANIZATION_ID: 2}

    # Idle: BILL's clock moves on past 35 minutes since the poller's last call.
    world.bill_admin("POST", "/clock", {"advance_seconds": IDLE_SECONDS + 60})
    world.wait("the poller meets its idle session", lambda: stats()["sessions_found_expired"]
               .get("idle", 0) >= 1)  # fmt: skip
    changes(world, numbers)
    world.wait("the changes after the idle expiry in Visma", world.settled)

    # Forced: BILL ends the organization's sessions.
    assert world.bill_admin("POST", "/sessions/expire", {"organization_id": DEMO_ORGANIZATION_ID})
    world.wait("the poller meets its ended session", lambda: stats()["sessions_found_expired"]
               .get("ended", 0) >= 1)  # fmt: skip
    changes(world, numbers)
    world.wait("the changes after the forced expiry in Visma", world.settled)

    final = stats()
    logins = final["logins"][DEMO_ORGANIZATION_ID]
    print(
        f"\nBILL logins: {logins} (subscribe 1, poller start 1, one per expiry: idle "
        f"{final['sessions_found_expired'].get('idle', 0)} call(s) met it, forced "
        f"{final['sessions_found_expired'].get('ended', 0)}); refusals {final['refusals']}; "
        f"{len(world.vendors)} vendors, {len(world.bills)} bills; "
        f"{time.monotonic() - started:.0f} s"
    )
    assert logins == 4, "one login at start of each, then at most one per expiry"
    assert "BDC_1144" not in final["refusals"], "the login limit (or the hourly one) was hit"
    poller_log = stack.children["bill-poller"].log_path.read_text()
    assert "not polled this time" not in poller_log, "a poll failed on the expired session"
    assert '"level": "error"' not in poller_log
