"""Issue 14's acceptance, the whole loop on the real broker, every service a process:
50 Visma supplier invoices (and their suppliers) become 50 Airbase bills and the vendors they
need, each made once; 30 of them approved and paid by an approver in Airbase become 30 Visma
supplier payments for the right supplier and invoice, with the amount paid and the bill's GL
accounts and cost centers, each made once; and the 30 Airbase ledger entries are marked
synced with their Visma payment number, once each.

The 30 paid invoices are released in Visma first, as a customer's AP clerk does before an
invoice can be paid (only an `Open` invoice is payable): those already `Open`, then invoices
pending approval or balanced, released through Visma's public `release` action
(tests/e2e/airbase_loop.py). Run twice: with Airbase's paths and field names as assumed, and
with others and the Bearer scheme, given to the sandbox and to every Airbase client (the
airbase-sink's and the airbase-poller's tenants) by configuration only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from mlc.stack import FlowStack
from tests.e2e.airbase_loop import ENTITIES, RULES, AirbaseLoop, allocations, booked, money, twice

pytestmark = pytest.mark.e2e

INVOICES = 50
PAID = 30
RENAMED = {
    "auth_scheme": "Bearer",
    "paths": {"vendors": "/api/v2/suppliers/", "bills": "/api/v2/payables/",
              "accounts": "/api/v2/gl-accounts/", "departments": "/api/v2/cost-centers/",
              "ledger_entries": "/api/v2/ledger/"},
    "fields": {"erp_reference_id": "external_id", "expense_list": "lines",
               "total_amount": "amount_due"},
}  # fmt: skip


@pytest.mark.parametrize("profile", ["assumed", "renamed"])
def test_fifty_invoices_to_airbase_and_thirty_payments_back_to_visma_each_once(
    make_stack: Callable[..., FlowStack], tmp_path: Path, profile: str
) -> None:
    started = time.monotonic()
    stack = make_stack(invoices=INVOICES, rules=RULES, poll_interval=2.0, entities=ENTITIES,
                       visma_hourly_budget=10_000, sandbox_args=("--hourly-budget", "10000"),
                       airbase_poll_every=5.0, airbase_poll_calls=100_000)  # fmt: skip
    if profile == "renamed":
        stack.airbase_profile = tmp_path / "airbase-profile.yaml"
        stack.airbase_profile.write_text(yaml.safe_dump(RENAMED))
    loop = AirbaseLoop(stack)
    loop.start_sandbox()
    assert len(loop.invoices()) == INVOICES
    to_pay = loop.release_for_payment(PAID)
    loop.start_services()

    out = loop.wait(f"{INVOICES} Airbase bills", lambda: len(loop.bills_by_invoice()) >= INVOICES)
    invoices = {i["referenceNumber"]: i for i in loop.invoices()}
    bills, vendors = loop.airbase("bills"), loop.airbase("vendors")
    assert twice(bills["counters"]["creates"]) == {}
    assert twice(vendors["counters"]["creates"]) == {}
    by_invoice = loop.bills_by_invoice()
    assert sorted(by_invoice) == sorted(invoices)
    needed = {i["supplier"]["number"] for i in invoices.values()}
    assert needed <= {v["erp_reference_id"] for v in vendors["records"]}
    for number, bill in by_invoice.items():
        assert money(bill["total_amount"]) == money(invoices[number]["amount"])
        assert bill["vendor"]["erp_reference_id"] == invoices[number]["supplier"]["number"]

    paid_bills = [by_invoice[i["referenceNumber"]] for i in to_pay]
    entries = loop.approve_and_pay(paid_bills)
    entry_ids = {e["airbase_id"] for e in entries.values()}
    back = loop.wait(f"{PAID} entries marked synced",
                     lambda: all(loop.synced().get(e) for e in entry_ids))  # fmt: skip

    payments = loop.visma_payments()
    after = {i["referenceNumber"]: i for i in loop.invoices()}
    assert {e: len(payments.get(e, [])) for e in entry_ids} == {e: 1 for e in entry_ids}
    assert set(payments) == entry_ids, "no payment for an entry nobody paid"
    synced = loop.synced()
    for bill in paid_bills:
        entry = entries[bill["airbase_id"]]
        (payment,) = payments[entry["airbase_id"]]
        invoice = invoices[bill["erp_reference_id"]]
        assert payment["supplier"]["number"] == invoice["supplier"]["number"]
        assert [line["refNbr"] for line in payment["paymentLines"]] == [invoice["referenceNumber"]]
        assert money(payment["paymentAmount"]) == money(bill["total_amount"])
        assert booked(payment) == allocations(bill)
        assert synced[entry["airbase_id"]] == str(payment["refNbr"])
        assert (
            after[invoice["referenceNumber"]]["balance"],
            after[invoice["referenceNumber"]]["status"],
        ) == (0.0, "Closed"), "paid in full"
    ledger = loop.airbase("ledger_entries")["counters"]
    assert twice(ledger["updates"]) == {}
    assert len(ledger["updates"]) == PAID
    assert twice(loop.airbase("bills")["counters"]["creates"]) == {}
    centers = {c for b in paid_bills for (_, c, _) in allocations(b)}
    total = sum((money(b["total_amount"]) for b in paid_bills), Decimal(0))
    served = stack.get("/airbase/_sandbox/profile")["resolved_paths"]["ledger_entries"]
    assert served == ("/api/v2/ledger/" if profile == "renamed" else
                      "/v1/accounting/ledger_entries/")  # fmt: skip
    pulls = loop.pulls()
    assert pulls["webhook"] > 0, "Airbase's webhooks reached the poller through the ingress"
    made = {r: sum(loop.airbase(r)["counters"]["creates"].values()) for r in ("bills", "vendors")}
    print(
        f"\n{profile} profile: {INVOICES} Visma invoices -> {len(by_invoice)} Airbase bills "
        f"(creates {made['bills']}), {len(vendors['records'])} vendors (creates {made['vendors']})"
        f" in {out:.0f} s; {len(loop.released)} invoices released in Visma; {PAID} paid in "
        f"Airbase ({total} in total, cost centers {sorted(c for c in centers if c)}) -> "
        f"{sum(len(p) for p in payments.values())} Visma supplier payments, "
        f"{sum(1 for v in synced.values() if v)} entries synced "
        f"(updates {sum(ledger['updates'].values())}) in {back:.0f} s; "
        f"publishing pulls {dict(pulls)}; "
        f"test took {time.monotonic() - started:.0f} s"
    )
