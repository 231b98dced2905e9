"""Issue 13 acceptance: a BILL vendor with no Visma supplier, end to end, under `match`.

Every service is a process on the real broker, the Visma poller too (its suppliers are what
vendors are matched to). A vendor whose organisation number no Visma supplier has is held
with its bills (`mlc bill unmatched` says why); then someone creates the supplier by hand in
Visma, the Visma poller publishes it, and every held bill is written once, in BILL's order,
on that supplier. A second unmatched vendor is released by `mlc bill link` instead. A vendor
that matches a supplier from the start is written at once, for contrast.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from mlc.bill_stack import BillFlow, mapping_file, organization_mapping
from mlc.stack import FlowStack
from tests.e2e.bill_world import BillWorld, moment

pytestmark = pytest.mark.e2e


def mlc_bill(stack: FlowStack, *argv: str) -> str:
    """`mlc bill …` as an operator runs it, on the run's topics."""
    done = subprocess.run(
        [sys.executable, "-m", "mlc.cli", "bill", *argv, "--topic-prefix", stack.topics.prefix],
        env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def written_in_order(world: BillWorld, vendor_id: str) -> list[tuple[str, str]]:
    """The vendor's bills in BILL's order (updated time), each with the supplier and the
    reference number of its one invoice; reference numbers grow with each create."""
    invoices = world.invoices_by_bill()
    bills = sorted(
        (b for b in world.bills.values() if b["vendorId"] == vendor_id),
        key=lambda b: (moment(b["updatedTime"]), b["id"]),
    )
    return [
        (invoices[b["id"]][0]["supplier"]["number"], invoices[b["id"]][0]["referenceNumber"])
        for b in bills
    ]


def test_unmatched_vendors_bills_held_then_written_once_in_order_by_hand_or_by_link(
    make_stack: Callable[..., FlowStack],
) -> None:
    started = time.monotonic()
    stack = make_stack(
        invoices=0,
        poll_interval=2.0,
        sandbox_args=("--bill-drop-rate", "0.3"),
        bill=BillFlow(
            poll_every=2.0, mapping=mapping_file(organization_mapping(vendor_policy="match"))
        ),
    )
    stack.start_sandbox()
    world = BillWorld(stack)
    seeded = [s for s in world.suppliers() if s.get("corporateId")]
    known, to_link = seeded[0], seeded[1]
    stack.start_bill_flow(visma_poller=True)

    matched = world.new_vendor(1, tax_id=known["corporateId"])
    world.new_bill(matched["id"], "M-1", [500.0])
    lonely = world.new_vendor(2, name="Nyhavn Kaffe ApS", tax_id="DK99887766")
    linked = world.new_vendor(3, name="Amager Cykler ApS", tax_id="DK11223344")
    for k in range(3):
        world.new_bill(lonely["id"], f"U-{k}", [100.0 + k, 10.0])
        if k < 2:
            world.new_bill(linked["id"], f"L-{k}", [200.0 + k])
    world.change_bill(next(b for b in world.bills if world.bills[b]["vendorId"] == lonely["id"]),
                      [150.0, 5.0])  # fmt: skip

    world.wait("the matched vendor's bill in Visma", lambda: len(world.invoices()) == 1)
    listing = ""

    def all_held() -> bool:
        nonlocal listing
        listing = mlc_bill(stack, "unmatched")
        return listing.endswith("2 vendor(s) held, 5 bill(s) held\n")

    world.wait("mlc bill unmatched lists both vendors' bills", all_held, timeout=90)
    print(f"\n$ mlc bill unmatched\n{listing}")
    assert f"{lonely['id']}  Nyhavn Kaffe ApS: no Visma supplier" in listing
    assert "organisation number DK99887766: no supplier of company tenant-dk-1" in listing
    assert listing.count("held ") == 5
    assert all(f"U-{k}" in listing for k in range(3))
    assert [i["supplierReference"] for i in world.invoices()] == ["M-1"]

    made: dict[str, Any] = world.visma_admin("POST", "/entities/supplier", {
        "company": world.company, "fields": {"name": "Nyhavn Kaffe ApS",
                                             "corporateId": "DK99887766"},
    })  # fmt: skip
    number = str(made["number"])
    said = mlc_bill(stack, "link", linked["id"], str(to_link["number"]))
    assert f"linked vendor {linked['id']}" in said
    world.wait("every held bill in Visma", world.settled, timeout=90)

    assert [s for s, _ in written_in_order(world, lonely["id"])] == [number] * 3
    assert [s for s, _ in written_in_order(world, linked["id"])] == [str(to_link["number"])] * 2
    for vendor in (lonely, linked):
        refs = [int(r) for _, r in written_in_order(world, vendor["id"])]
        assert refs == sorted(refs), f"{vendor['name']}: not written in BILL's order"
    assert len(world.invoices()) == len(world.bills) == 6
    assert mlc_bill(stack, "unmatched").endswith("0 vendor(s) held, 0 bill(s) held\n")
    print(f"released: {written_in_order(world, lonely['id'])} by hand, "
          f"{written_in_order(world, linked['id'])} by link; "
          f"{time.monotonic() - started:.0f} s")  # fmt: skip
