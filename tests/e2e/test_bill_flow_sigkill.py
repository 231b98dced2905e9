"""Issue 13 acceptance: the bill-poller and the Visma writer SIGKILLed at random points of a
running BILL flow, five times each: no supplier or invoice twice in Visma, none lost, and a
412 on an update read again and applied once.

Every service is a process on the real broker, 30 % of BILL's webhooks are dropped (the
poll carries those), BILL answers each call 0.1 s late (a kill often lands inside a poll's
transaction) and half of Visma's creates hold their answer back after the record is made (a
kill often lands between Visma's 201 and the writer's ledger). A killed process restarts at
once, as its Deployment would restart it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from mlc.bill_stack import BillFlow
from mlc.stack import FlowStack
from tests.e2e.bill_world import BillWorld
from tests.e2e.test_slack_sink_interrupted import _dead_lettered

pytestmark = pytest.mark.e2e

BATCHES = 10
"""One vendor with five bills each; from the sixth, five earlier bills changed as well."""
KILLED = ("bill-poller", "visma-writer")


def test_sigkill_of_the_poller_and_the_writer_five_times_each_nothing_twice_nothing_lost(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    seed = random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    stack = make_stack(
        invoices=0,
        sandbox_args=("--bill-drop-rate", "0.3", "--hourly-budget", "10000"),
        visma_hourly_budget=10000,
        bill=BillFlow(poll_every=1.0),
    )
    # A static member, as a pod: a restarted writer takes over without waiting out a session.
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", f"bill-flow-{stack.run_id}")
    stack.start_sandbox()
    world = BillWorld(stack)
    suppliers_before = len(world.suppliers())
    world.bill_admin("PATCH", "/limits", {"request_latency_seconds": 0.1})
    for path in ("/v1/supplier", "/v1/supplierInvoice"):
        world.visma_admin("POST", "/faults", {
            "method": "POST", "path_prefix": path, "times": None, "probability": 0.5,
            "delay_after_seconds": 0.8,
        })  # fmt: skip
    stack.start_bill_flow()

    def progress(name: str) -> int:
        """How far the process got: the poller's cycles, the writer's calls to Visma."""
        if name == "bill-poller":
            return stack.children[name].log_path.read_text().count('"msg": "polled"')
        return int(world.visma_admin("GET", "/stats")["calls"].get(world.company, 0))

    kills: list[str] = []
    for batch in range(BATCHES):
        vendor = world.new_vendor(batch)
        for k in range(5):
            world.new_bill(vendor["id"], f"K-{batch:02d}-{k}", [round(rng.uniform(10, 900), 2)])
        if batch >= 5:
            earlier = [
                b for b in world.bills.values() if b["vendorId"] == list(world.vendors)[batch - 5]
            ]
            for bill in earlier:
                world.change_bill(bill["id"], [round(rng.uniform(10, 900), 2), 1.0])
        name = KILLED[batch % 2]
        before = progress(name)
        world.wait(f"{name} at work", lambda: progress(name) > before, timeout=60)  # noqa: B023
        time.sleep(rng.uniform(0.0, 1.0))  # a random point of its work, not a synchronisation
        stack.children[name].kill()
        kills.append(f"{name}@{progress(name)}")
        stack.start(name)
    world.visma_admin("DELETE", "/faults")
    world.wait("every vendor and bill in Visma, once", world.settled, timeout=180)

    # A bill changed once more while someone else edits its invoice in Visma: 412, read again.
    bill_id = next(iter(world.bills))
    (invoice,) = world.invoices_by_bill()[bill_id]
    number = str(invoice["referenceNumber"])
    put = f"/v1/supplierInvoice/Invoice/{number}"
    updates = world.visma_admin("GET", f"/invoices/{world.company}/{number}/actions")["actions"]
    world.visma_admin("POST", "/faults", {"status": 412, "method": "PUT", "times": 1,
                                          "path_prefix": put})  # fmt: skip
    world.change_bill(bill_id, [321.0, 1.5])
    world.wait("the change through a 412 in Visma", world.settled)
    assert world.visma_admin("GET", "/faults/fired")["by_status"] == {"412": 1}
    after = world.visma_admin("GET", f"/invoices/{world.company}/{number}/actions")["actions"]
    assert after["update"] == updates.get("update", 0) + 1, "read again and applied once"

    assert len(world.suppliers()) - suppliers_before == BATCHES
    assert len(world.invoices()) == 5 * BATCHES
    assert _dead_lettered(kafka_bootstrap, f"dlq.run-{stack.run_id}-writer.v1") == 0
    assert _dead_lettered(kafka_bootstrap, f"dlq.run-{stack.run_id}-bill-mapping.v1") == 0
    counts = world.visma_admin("GET", f"/actions?company={world.company}")
    twice = [a for a in counts if a["count"] > 1 and a["entityId"] != f"Invoice:{number}"]
    print(
        f"\nseed {seed}: kills {kills}; {len(world.vendors)} vendors -> "
        f"{len(world.suppliers()) - suppliers_before} suppliers, {len(world.bills)} bills -> "
        f"{len(world.invoices())} invoices; invoices updated more than once (a kill between "
        f"the PUT and DONE): {len(twice)}; {time.monotonic() - started:.0f} s"
    )
