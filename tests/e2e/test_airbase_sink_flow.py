"""Visma to Airbase end to end on the real broker: the Visma sandbox's 50 supplier invoices of
one company and their suppliers, GL accounts and cost centers, read by the Visma poller,
routed by the processor with the example Airbase rules and written by the airbase-sink,
every service a process. Each invoice is one Airbase bill with its amount, vendor, lines,
GL accounts and cost centers; each supplier it names one vendor; nothing made twice. Run
twice: with Airbase's paths and field names as assumed, and with others (and the Bearer
scheme) given to the sandbox and to the sink's tenants by configuration only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlc.stack import ROOT, FlowStack
from tests.e2e.twilio_alerts import wait_until

pytestmark = pytest.mark.e2e

TENANT = "tenant-se-1"
INVOICES = 50
RULES = ROOT / "services/processor/examples/airbase-rules.yaml"
RENAMED = {
    "auth_scheme": "Bearer",
    "paths": {"vendors": "/api/v2/suppliers/", "bills": "/api/v2/payables/",
              "accounts": "/api/v2/gl-accounts/", "departments": "/api/v2/cost-centers/"},
    "fields": {"erp_reference_id": "external_id", "expense_list": "lines",
               "total_amount": "amount_due"},
}  # fmt: skip


def _airbase(stack: FlowStack, resource: str) -> dict[str, Any]:
    found: dict[str, Any] = stack.get(f"/airbase/_sandbox/{resource}?tenant={TENANT}")
    return found


@pytest.mark.parametrize("profile", ["assumed", "renamed"])
def test_fifty_visma_invoices_become_fifty_bills_and_their_vendors_once(
    make_stack: Callable[..., FlowStack], tmp_path: Path, profile: str
) -> None:
    started = time.monotonic()
    entities = ("supplierInvoice", "supplier", "account", "dimension")
    stack = make_stack(invoices=INVOICES, rules=RULES, poll_interval=2.0, entities=entities)
    if profile == "renamed":
        stack.airbase_profile = tmp_path / "airbase-profile.yaml"
        stack.airbase_profile.write_text(yaml.safe_dump(RENAMED))
    stack.start_sandbox()
    invoices = [
        i for i in stack.get("/visma/_sandbox/invoices")
        if i["company"] == TENANT and i.get("documentType", "Invoice") == "Invoice"
    ]  # fmt: skip
    assert len(invoices) == INVOICES
    stack.start_services(("visma-poller", "processor", "airbase-sink"))

    wait_until(lambda: len(_airbase(stack, "bills")["records"]) >= INVOICES, timeout=240,
               stack=stack, what=f"{INVOICES} Airbase bills", every=1.0)  # fmt: skip
    bills, vendors = _airbase(stack, "bills"), _airbase(stack, "vendors")
    assert set(bills["counters"]["creates"].values()) == {1}
    assert set(vendors["counters"]["creates"].values()) == {1}
    by_ref = {b["erp_reference_id"]: b for b in bills["records"]}
    assert sorted(by_ref) == sorted(i["referenceNumber"] for i in invoices)
    suppliers = {i["supplier"]["number"] for i in invoices}
    assert suppliers <= {v["erp_reference_id"] for v in vendors["records"]}
    for invoice in invoices:
        bill = by_ref[invoice["referenceNumber"]]
        assert Decimal(bill["total_amount"]) == Decimal(str(invoice["amount"]))
        assert bill["vendor"]["erp_reference_id"] == invoice["supplier"]["number"]
        assert sum(Decimal(line["amount"]) for line in bill["expense_list"]) == Decimal(
            bill["total_amount"]
        )
        assert all(line["account"]["erp_reference_id"] and line["tags"][0]["erp_reference_id"]
                   for line in bill["expense_list"])  # fmt: skip
    visma = {e: stack.get(f"/visma/_sandbox/entities/{e}?company={TENANT}")
             for e in ("account", "dimension")}  # fmt: skip
    wanted_accounts = {a["accountCd"] for a in visma["account"]}
    wanted_centers = {d["valueId"] for d in visma["dimension"] if d["dimensionId"] == "SUBACCOUNT"}

    def references() -> tuple[set[str], set[str]]:
        return (
            {a["erp_reference_id"] for a in _airbase(stack, "accounts")["records"]},
            {d["erp_reference_id"] for d in _airbase(stack, "departments")["records"]},
        )

    wait_until(lambda: references() == (wanted_accounts, wanted_centers), timeout=60,
               stack=stack, what="every GL account and cost center", every=1.0)  # fmt: skip
    accounts, centers = references()
    lines = [line for bill in by_ref.values() for line in bill["expense_list"]]
    assert {line["tags"][0]["erp_reference_id"] for line in lines} <= centers
    served = stack.get("/airbase/_sandbox/profile")["resolved_paths"]["bills"]
    assert served == ("/api/v2/payables/" if profile == "renamed" else "/v1/accounting/bills/")
    print(f"\n{profile} profile: {INVOICES} invoices -> {len(by_ref)} bills, "
          f"{len(vendors['records'])} vendors, "
          f"{len(accounts)} GL accounts, {len(centers)} cost centers; "
          f"test took {time.monotonic() - started:.0f} s")  # fmt: skip
