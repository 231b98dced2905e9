"""Issue 13 end to end: BILL vendors and bills become Visma suppliers and supplier invoices,
every service a process on the real broker, the BILL and Visma sandboxes in one process.

The smoke test proves the wiring of `FlowStack`'s BILL flow: the ingress subscribed through
`mlc bill subscribe`, the bill-poller, the bill-mapping and the Visma writer on the run's
topics, credentials from the run's vault, and none of them (the BILL password, the devKey,
the subscription's securityKey) in clear in any topic of the run or any file it wrote.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

import pytest

from chassis.kafka.state import iter_to_end
from chassis.settings import KafkaSettings
from chassis.vault import CredentialVault, KafkaCredentialLog, KeyRing
from ingress.bill_keys import read_keys
from mlc.bill_stack import BillFlow
from mlc.stack import FlowStack
from sandbox.bill.config import DEMO_DEV_KEY, DEMO_PASSWORD
from tests.e2e.bill_world import BillWorld, delays

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
    world.wait("the supplier and the invoice in Visma", world.settled)

    events = world.bill_admin("GET", "/webhooks")
    assert events["stats"]["delivered"] >= 2, events
    (subscription,) = events["subscriptions"]
    scanned = no_secret_in_clear(stack, subscription["id"])
    took = time.monotonic() - started
    print(f"\none vendor, one bill -> one supplier, one invoice, {scanned}: {took:.0f} s")


def no_secret_in_clear(stack: FlowStack, subscription_id: str) -> str:
    """Asserts that no BILL secret is in clear in the run's topics or files; says what it read."""
    kafka = KafkaSettings()
    demo = stack.credentials()
    client = f"bill-flow-scan-{stack.run_id}"
    vault = CredentialVault(KafkaCredentialLog(kafka, topic=demo.topic, client=client),
                            KeyRing(demo.key))  # fmt: skip
    vault.load()
    key = read_keys(vault, subscription_id).current.get_secret_value()
    secrets = [DEMO_PASSWORD.encode(), DEMO_DEV_KEY.encode(), key.encode()]
    prefix = stack.topics.prefix
    topics = [f"{prefix}{t}" for t in (
        "bill.vendor.v1", "bill.bill.v1", "sink.visma-writer.v1", "state.bill-vendor.v1",
        "state.poll-cursor.v1", "state.visma-writer-ledger.v2", "state.credentials.v1",
    )]  # fmt: skip
    records = 0
    for topic in topics:
        for record_key, value in iter_to_end(kafka, topic, client=client):
            records += 1
            for secret in secrets:
                assert secret not in value + (record_key or "").encode(), f"{topic}: in clear"
    files = [p for p in stack.state_dir.rglob("*") if p.is_file() and p.name != "master.key"]
    assert {"bill-poller.log", "ingress.log", "bill-mapping.log"} <= {p.name for p in files}
    for path in files:
        for secret in secrets:
            assert secret not in path.read_bytes(), f"{path.name} holds a BILL secret in clear"
    return f"no BILL secret in {records} records of {len(topics)} topics and {len(files)} files"


VENDORS = 40
BILLS_PER_VENDOR = 5
RENAMED = 10
PACED = 30
"""Bills changed once more one at a time, as a person works through them: the delays of a
flow that is not queueing behind a burst."""


def median_line(label: str, found: dict[str, list[float]]) -> str:
    parts = [
        f"{via} {statistics.median(seconds):.2f} s (n={len(seconds)})" if seconds else f"{via} -"
        for via, seconds in found.items()
    ]
    return f"{label}: median delay BILL change -> Visma invoice: " + ", ".join(parts)


def test_forty_vendors_and_two_hundred_bills_created_and_updated_with_30_percent_dropped(
    make_stack: Callable[..., FlowStack],
) -> None:
    started = time.monotonic()
    rng = random.Random(13)
    # The writer makes well over a thousand Visma calls for tenant-dk-1 in a few minutes:
    # more than the 500 an hour the stack's writer and the sandbox allow by default, which is
    # not what this test is about (Visma's budget is tested with the Visma poller).
    stack = make_stack(
        invoices=0,
        sandbox_args=("--bill-drop-rate", "0.3", "--hourly-budget", "10000"),
        visma_hourly_budget=10000,
        bill=BillFlow(poll_every=3.0),
    )
    stack.start_sandbox()
    world = BillWorld(stack)
    suppliers_before = len(world.suppliers())
    stack.start_bill_flow()

    for n in range(VENDORS):
        vendor = world.new_vendor(n)
        for k in range(BILLS_PER_VENDOR):
            amounts = [round(rng.uniform(10, 5000), 2) for _ in range(rng.randint(1, 3))]
            world.new_bill(vendor["id"], f"F-{n:02d}-{k}", amounts)
    created = world.wait("every bill one invoice", world.settled, timeout=180)
    first = delays(world, stamp="createdDateTime")

    for n, vendor_id in enumerate(list(world.vendors)[:RENAMED]):
        world.rename_vendor(vendor_id, f"Leverandør {n} A/S")
    for bill_id in list(world.bills):
        world.change_bill(bill_id, [round(rng.uniform(10, 5000), 2) for _ in range(2)])
    updated = world.wait("every change applied", world.settled, timeout=180)
    second = delays(world, stamp="lastModifiedDateTime")

    paced = rng.sample(list(world.bills), PACED)
    for bill_id in paced:
        world.change_bill(bill_id, [round(rng.uniform(10, 5000), 2), 99.0])
        time.sleep(0.3)  # the pace of a person's changes (the workload, not a wait on anything)
    world.wait("every paced change applied", world.settled, timeout=120)
    third = delays(world, stamp="lastModifiedDateTime", only=set(paced))

    # Exactly one of each (`settled`), and nothing else made: no stray supplier or invoice.
    assert len(world.suppliers()) - suppliers_before == VENDORS
    assert len(world.invoices()) == VENDORS * BILLS_PER_VENDOR
    actions = world.visma_admin("GET", f"/actions?company={world.company}")
    assert sorted(a["count"] for a in actions if a["action"] == "update") == sorted(
        [1] * (len(world.bills) - PACED) + [2] * PACED
    ), "each invoice updated once per change of its bill"
    assert {a["action"] for a in actions} == {"update"}
    webhooks = world.bill_admin("GET", "/webhooks")["stats"]
    assert webhooks["dropped"] > 0.2 * webhooks["published"]
    print(f"\nBILL webhooks: {webhooks}")
    print(median_line("created (burst)", first))
    print(median_line("updated (burst)", second))
    print(median_line("updated (paced)", third))
    took = time.monotonic() - started
    print(f"settled in {created:.0f} s and {updated:.0f} s; {took:.0f} s in all")
