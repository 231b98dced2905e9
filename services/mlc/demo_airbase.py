"""The Airbase part of `mlc demo`: seed 003's example, a Swedish company's payables approved
and paid in Airbase and booked back in Visma.

The Swedish demo company (tenant-se-1) has Airbase for approvals: a rule of the run's rules
file sends its suppliers and supplier invoices to Airbase, where the airbase-sink makes each
invoice a bill (its amount, lines with GL account and cost center) and each supplier a
vendor. At the end an approver in Airbase approves and pays three bills of invoices that
Visma has `Open` (only those are payable, docs/visma-writer.md) through the sandbox's admin
routes, as in Airbase's app. Airbase's signed `bill_paid` webhooks, verified by the ingress,
make the airbase-poller pull at once (its schedule stays the safety net); it reads the
payments' ledger entries, the airbase-payments maps their GL accounts and cost centers, the
Visma writer books each as one supplier payment and has the entry marked synced with the
Visma payment number. It runs last so that the payments change nothing the other parts count.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import SecretStr

from mlc.demo_airbase_outcome import AirbaseOutcome, PaidBill, money
from mlc.demo_monday import wait_for
from mlc.stack import FlowStack

TENANT = "tenant-se-1"
"""The Swedish demo company: its tenant and Visma company ids are the same."""
PAYMENTS = 3
"""Bills the approver approves and pays."""
SERVICES = ("airbase-sink", "airbase-poller", "airbase-payments")
"""Besides the Visma poller, processor, ingress and Visma writer every part shares."""
WEBHOOK_SECRET_CREDENTIAL = f"airbase/{TENANT}/webhook-secret"
"""Where the ingress reads the tenant's Airbase signing secret (its default name)."""


def airbase_rules() -> list[dict[str, Any]]:
    """The company's suppliers and supplier invoices to its Airbase account (the example
    rules, services/processor/examples/airbase-rules.yaml, for the records a bill needs)."""
    return [{
        "name": "visma-to-airbase",
        "when": {"tenant": [TENANT], "entity_type": ["supplier", "supplierInvoice"]},
        "targets": [{"airbase": {}}],
    }]  # fmt: skip


def add_rules(rules_path: Path) -> None:
    """Appends the Airbase rule to the run's rules file (the processor reads it at start)."""
    data = yaml.safe_load(rules_path.read_text(encoding="utf-8"))
    data["rules"] = [*data["rules"], *airbase_rules()]
    rules_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")


def prepare(stack: FlowStack) -> None:
    """Before the services start: the run's Airbase signing secret in its vault."""
    stack.credentials().values[WEBHOOK_SECRET_CREDENTIAL] = SecretStr(secrets.token_hex(16))


def start(stack: FlowStack) -> None:
    """Once the ingress listens: Airbase's webhooks to it, signed with the run's secret, then
    the Airbase services (the Visma writer, which books the payments, runs already)."""
    secret = stack.credentials().values[WEBHOOK_SECRET_CREDENTIAL].get_secret_value()
    url = f"http://127.0.0.1:{stack.ingress_port}/webhooks/airbase?tenant={TENANT}"
    target = {"tenant": TENANT, "url": url, "secret": secret}
    answer = httpx.put(f"{stack.base_url}/airbase/_sandbox/webhooks", json=target, timeout=30)
    answer.raise_for_status()
    stack.start_services(SERVICES)


@dataclass
class Approver:
    """Approves and pays bills in Airbase (the sandbox's admin routes, as in Airbase's app)."""

    stack: FlowStack
    paid: list[PaidBill] = field(default_factory=list)

    def approve_and_pay(self, invoice: dict[str, Any], bill: dict[str, Any]) -> None:
        bill_id = str(bill["airbase_id"])
        _sandbox(self.stack, "POST", f"/airbase/_sandbox/bills/{bill_id}/approve")
        entry = _sandbox(self.stack, "POST", f"/airbase/_sandbox/bills/{bill_id}/pay")
        self.paid.append(PaidBill(invoice, bill_id, str(entry["airbase_id"])))


def check(stack: FlowStack, *, deadline: float) -> bool:
    """Waits for every invoice's bill, has the approver pay three, waits for their payments
    in Visma and the entries synced; prints the figures."""
    print("\n== Airbase ==", flush=True)
    started = time.monotonic()
    invoices = _invoices(stack)
    wait_for(lambda: _bills_made(stack, invoices), stack, deadline)
    bills = {str(b["erp_reference_id"]): b for b in _airbase(stack, "bills")["records"]}
    payable = payable_invoices(invoices, bills)
    if len(payable) < PAYMENTS:
        print(f"check                      : FAILED: {len(payable)} Open invoices with their "
              f"bill in Airbase, {PAYMENTS} wanted; try more --invoices")  # fmt: skip
        return False
    approver = Approver(stack)
    for invoice in payable[:PAYMENTS]:
        approver.approve_and_pay(invoice, bills[str(invoice["referenceNumber"])])
    wait_for(lambda: _settled(stack, approver.paid), stack, deadline)
    found = read_outcome(stack, invoices, approver.paid)
    found.took = time.monotonic() - started
    return found.summary()


def payable_invoices(
    invoices: list[dict[str, Any]], bills: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Invoices Visma can take a payment for in full (`Open`, nothing paid yet) whose bill
    Airbase shows with the invoice's amount, awaiting approval; by reference number."""
    return sorted(
        (i for i in invoices
         if i.get("status") == "Open" and money(i.get("balance", 0)) == money(i["amount"])
         and (bill := bills.get(str(i["referenceNumber"]))) is not None
         and bill.get("status") == "pending_approval"
         and money(bill["total_amount"]) == money(i["amount"])),
        key=lambda i: str(i["referenceNumber"]),
    )  # fmt: skip


def read_outcome(
    stack: FlowStack, invoices: list[dict[str, Any]], paid: list[PaidBill]
) -> AirbaseOutcome:
    payments = _sandbox(stack, "GET", f"/visma/_sandbox/entities/supplierPayment?company={TENANT}")
    return AirbaseOutcome(
        invoices=invoices, bills=_airbase(stack, "bills"), vendors=_airbase(stack, "vendors"),
        paid=paid, payments=payments, entries=_airbase(stack, "ledger_entries")["records"],
        webhooks=[e for e in _sandbox(stack, "GET", "/airbase/_sandbox/webhooks/events")
                  if e.get("tenant") == TENANT],
    )  # fmt: skip


# ---- reading the run ------------------------------------------------------------------------


def _invoices(stack: FlowStack) -> list[dict[str, Any]]:
    """The company's supplier invoices an Airbase bill is made of (credit notes are not)."""
    listed = _sandbox(stack, "GET", f"/visma/_sandbox/invoices?company={TENANT}")
    return [i for i in listed if i.get("documentType", "Invoice") == "Invoice"]


def _bills_made(stack: FlowStack, invoices: list[dict[str, Any]]) -> bool:
    made = {str(b["erp_reference_id"]) for b in _airbase(stack, "bills")["records"]}
    return made >= {str(i["referenceNumber"]) for i in invoices}


def _settled(stack: FlowStack, paid: list[PaidBill]) -> bool:
    """Each paid bill's entry synced (the writer marks it once Visma has the payment)."""
    entries = {e["airbase_id"]: e for e in _airbase(stack, "ledger_entries")["records"]}
    return all(entries.get(p.entry_id, {}).get("status") == "synced" for p in paid)


def _airbase(stack: FlowStack, resource: str) -> dict[str, Any]:
    found: dict[str, Any] = _sandbox(stack, "GET", f"/airbase/_sandbox/{resource}?tenant={TENANT}")
    return found


def _sandbox(stack: FlowStack, method: str, path: str) -> Any:
    answer = httpx.request(method, f"{stack.base_url}{path}", timeout=30)
    answer.raise_for_status()
    return answer.json() if answer.content else None
