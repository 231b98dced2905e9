"""Issue 13 end to end: BILL vendors and bills become Visma suppliers and supplier invoices,
every service a process on the real broker, the BILL and Visma sandboxes in one process.

The smoke test proves the wiring of `FlowStack`'s BILL flow: the ingress subscribed through
`mlc bill subscribe`, the bill-poller, the bill-mapping and the Visma writer on the run's
topics, credentials from the run's vault.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from mlc.stack import FlowStack
from tests.e2e.bill_world import BillWorld

pytestmark = pytest.mark.e2e


def test_one_vendor_and_one_bill_become_one_supplier_and_one_supplier_invoice(
    make_stack: Callable[..., FlowStack],
) -> None:
    started = time.monotonic()
    stack = make_stack(invoices=0)
    stack.start_sandbox()
    stack.start_bill_flow()
    world = BillWorld(stack)

    vendor = world.new_vendor(1)
    world.new_bill(vendor["id"], "F-1", [1200.0, 300.5])
    world.wait("the invoice in Visma", lambda: all(world.invoices_by_bill().values()))

    assert world.mismatches() == []
    events = world.bill_admin("GET", "/webhooks")
    assert events["stats"]["delivered"] >= 2, events
    took = time.monotonic() - started
    print(f"\none vendor, one bill -> one supplier, one invoice: {took:.0f} s")
