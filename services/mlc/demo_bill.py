"""The BILL part of `mlc demo`: seed 004's example, a Danish client's payables from BILL into Visma.

The client is the BILL sandbox's demo organization ("Nordisk Demo ApS"), mapped in a
per-tenant YAML to the Danish demo company tenant-dk-1 with vendor policy `match`: a BILL
vendor is paired with the Visma supplier that has its CVR number. While the connector runs,
the client's AP clerk enters in BILL six vendors the company already has as Visma suppliers
and one it does not (Nyhavn Kaffe ApS), two bills each, then changes one vendor's email and
one bill's lines. BILL signs a webhook for each change, but a share of them is lost on the
way (the sandbox's drop rate): the bill-poller's delta poll catches those. The new vendor's
bills are held as unmatched until a bookkeeper creates the supplier by hand in Visma; Visma's
webhook makes the visma-poller read it at once, and the bill-mapping releases the held bills,
once, in order. Every bill stays below the demo rules' DKK thresholds, so the Slack and
Twilio parts' counts are not changed by it (the Monday part shows the invoices as items).
"""

from __future__ import annotations

import random
import textwrap
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bill_mapping.standing import VendorStanding
from bill_mapping.state import load_standings
from chassis.kafka.outputs import serde_for
from chassis.kafka.state import StateLoadError, read_to_end
from chassis.settings import KafkaSettings, RegistrySettings
from events.bill_holds import STATE_BILL_VENDORS
from events.topics import visma_topic
from mlc.bill_holds import describe
from mlc.bill_stack import (
    BILL_TENANT,
    DEMO_ACCOUNTS,
    DEMO_COST_CENTERS,
    BillFlow,
    mapping_file,
    organization_mapping,
)
from mlc.demo_bill_outcome import (
    PlannedBill,
    PlannedVendor,
    all_written,
    invoice_count,
    read_invoices,
    read_outcome,
)
from mlc.demo_monday import wait_for
from mlc.stack import FlowStack
from sandbox.bill.config import DEMO_ORGANIZATION_ID

DROP_RATE = 0.3
"""Share of BILL's webhooks lost on the way: the poll must catch them."""
MATCHED_VENDORS = 6
"""Vendors the client already has as Visma suppliers (paired by CVR number)."""
BILLS_PER_VENDOR = 2
NEW_VENDOR = "Nyhavn Kaffe ApS"
"""The vendor Visma does not know: held until its supplier is created by hand."""
LINE_AMOUNTS = (150, 2400)
"""DKK per bill line, 1 to 3 lines: every bill stays under 8,000 DKK, the demo rules' lowest
DKK threshold, so no BILL invoice adds a Slack message the Slack part does not expect."""


@dataclass
class BillScene:
    """What the AP clerk entered in BILL, as BILL answered, and when the demo began."""

    vendors: dict[str, PlannedVendor] = field(default_factory=dict)
    bills: dict[str, PlannedBill] = field(default_factory=dict)
    """BILL bill id -> the bill as entered, in BILL's order (entry order)."""
    entered_at: float = 0.0


def prepare(stack: FlowStack) -> None:
    """Before the services start: the client's mapping file (policy `match`)."""
    stack.bill = BillFlow(mapping=mapping_file(organization_mapping(vendor_policy="match")))


def start(stack: FlowStack) -> None:
    """Once the ingress listens: BILL's webhooks (some dropped) and Visma's supplier webhooks
    to it, then the bill-mapping and the bill-poller."""
    _sandbox(stack, "PATCH", "/bill/_sandbox/webhooks", body={"drop_rate": DROP_RATE})
    stack.subscribe_bill()
    stack.subscribe_visma(entities=["supplier"], companies=[BILL_TENANT])
    stack.start("bill-mapping")
    stack.start("bill-poller")


def enter(stack: FlowStack, *, seed: int, deadline: float) -> BillScene:
    """The AP clerk's day in BILL, once the connector knows the company's suppliers."""
    suppliers = sorted(
        _sandbox(stack, "GET", f"/visma/_sandbox/entities/supplier?company={BILL_TENANT}"),
        key=lambda s: str(s["number"]),
    )[:MATCHED_VENDORS]
    # The clerk starts once the connector has read the company's suppliers (as when it was
    # set up the day before): a vendor is then held only when Visma truly lacks it.
    wait_for(lambda: _published_suppliers(stack) >= {str(s["number"]) for s in suppliers},
             stack, deadline)  # fmt: skip
    clerk = Clerk(stack, random.Random(seed))
    for supplier in suppliers:
        clerk.new_vendor(supplier["name"], cvr=str(supplier["corporateId"]),
                         email=(supplier.get("mainContact") or {}).get("email"),
                         number=str(supplier["number"]))  # fmt: skip
    cvr = clerk.unused_cvr({str(s.get("corporateId")) for s in suppliers})
    clerk.new_vendor(NEW_VENDOR, cvr=cvr, email="faktura@nyhavn-kaffe.example-dk.test", number=None)
    for _ in range(BILLS_PER_VENDOR):
        for vendor_id in list(clerk.scene.vendors):
            clerk.new_bill(vendor_id)
    clerk.change_vendor(next(iter(clerk.scene.vendors)), email="ap@changed.example-dk.test")
    clerk.change_bill(next(iter(clerk.scene.bills)))
    return clerk.scene


def check(stack: FlowStack, scene: BillScene, *, deadline: float) -> bool:
    """Waits for the paired vendors' bills in Visma and the new vendor's bills held, creates
    its supplier by hand as a bookkeeper would, waits for the release; prints the figures."""
    print("\n== BILL ==", flush=True)
    new = next(v for v in scene.vendors.values() if v.supplier_number is None)
    paired = [b for b in scene.bills.values() if b.vendor_id != new.vendor_id]
    held = [b for b in scene.bills.values() if b.vendor_id == new.vendor_id]

    def written(bills: list[PlannedBill]) -> bool:
        return all_written(read_invoices(stack, bills), bills)

    wait_for(lambda: written(paired) and _unmatched(stack, new) >= len(held), stack, deadline)
    standing = _standing(stack, new)
    while_held = invoice_count(read_invoices(stack, held), held)
    if standing is not None:
        print("mlc bill unmatched shows   :\n" + textwrap.indent(_listing(standing), "  "), end="")
    created = _sandbox(stack, "POST", "/visma/_sandbox/entities/supplier", body={
        "company": BILL_TENANT,
        "fields": {"name": new.name, "corporateId": new.tax_id, "currencyId": "DKK",
                   "vatRegistrationId": f"DK{new.tax_id}", "mainContact": {"email": new.email}},
    })  # fmt: skip
    new.supplier_number = str(created["number"])
    print(f"bookkeeper                 : created supplier {new.supplier_number} {new.name} "
          "in Visma by hand", flush=True)  # fmt: skip
    wait_for(lambda: written(list(scene.bills.values())), stack, deadline)
    time.sleep(2.0)  # a second invoice, if one were coming, would show by now
    found = read_outcome(stack, scene.vendors, scene.bills, unmatched=new.vendor_id)
    found.held, found.written_while_held = standing, while_held
    found.took = time.monotonic() - scene.entered_at
    return found.summary()


# ---- the clerk's steps in BILL (the sandbox's admin routes, as a BILL user) ----------------


@dataclass
class Clerk:
    """Enters and changes the client's vendors and bills in BILL, noting BILL's answers."""

    stack: FlowStack
    rng: random.Random
    scene: BillScene = field(default_factory=lambda: BillScene(entered_at=time.monotonic()))

    def _org(self, method: str, path: str, body: dict[str, Any]) -> Any:
        where = f"/bill/_sandbox/organizations/{DEMO_ORGANIZATION_ID}{path}"
        return _sandbox(self.stack, method, where, body=body)

    def new_vendor(self, name: str, *, cvr: str, email: str | None, number: str | None) -> None:
        body = {"name": name, "taxId": cvr, **({"email": email} if email else {})}
        made = self._org("POST", "/vendors", body)
        self.scene.vendors[made["id"]] = PlannedVendor(made["id"], name, cvr, email, number)

    def unused_cvr(self, taken: set[str]) -> str:
        """A CVR number (8 digits) no supplier of the company has."""
        while True:
            cvr = str(self.rng.randrange(10**7, 10**8))
            if cvr not in taken:
                return cvr

    def lines(self) -> list[dict[str, Any]]:
        accounts, departments = sorted(DEMO_ACCOUNTS), sorted(DEMO_COST_CENTERS)
        return [
            {"amount": float(self.rng.randrange(*LINE_AMOUNTS)),
             "description": f"Leverance {k + 1}",
             "classifications": {"chartOfAccountId": self.rng.choice(accounts),
                                 "departmentId": self.rng.choice(departments)}}
            for k in range(self.rng.randint(1, 3))
        ]  # fmt: skip

    def new_bill(self, vendor_id: str) -> None:
        day = datetime.now(UTC).date()
        number = f"ND-{1001 + len(self.scene.bills)}"
        body = {"vendorId": vendor_id, "invoice": {"invoiceNumber": number,
                "invoiceDate": day.isoformat()}, "dueDate": (day + timedelta(days=30)).isoformat(),
                "billLineItems": self.lines()}  # fmt: skip
        made = self._org("POST", "/bills", body)
        self.scene.bills[made["id"]] = PlannedBill.of(made)

    def change_vendor(self, vendor_id: str, *, email: str) -> None:
        self._org("PATCH", f"/vendors/{vendor_id}", {"email": email})
        self.scene.vendors[vendor_id].email = email
        self.scene.vendors[vendor_id].changed = True

    def change_bill(self, bill_id: str) -> None:
        made = self._org("PATCH", f"/bills/{bill_id}", {"billLineItems": self.lines()})
        self.scene.bills[bill_id] = PlannedBill.of(made, changed=True)


# ---- reading the run ------------------------------------------------------------------------


def _sandbox(stack: FlowStack, method: str, path: str, *, body: Any = None) -> Any:
    answer = httpx.request(method, f"{stack.base_url}{path}", json=body, timeout=30)
    answer.raise_for_status()
    return answer.json() if answer.content else None


def _published_suppliers(stack: FlowStack) -> set[str]:
    """Numbers of the client's suppliers the visma-poller has published so far."""
    prefix = f"{BILL_TENANT}/{BILL_TENANT}/supplier/"
    topic = stack.topics.prefix + visma_topic("supplier").name
    try:
        keys = read_to_end(KafkaSettings(), topic, client=f"run-{stack.run_id}-bill-check")
    except StateLoadError:
        return set()  # not polled yet: the poller makes the topic with its first page
    return {key.removeprefix(prefix) for key in keys if key.startswith(prefix)}


def _standing(stack: FlowStack, vendor: PlannedVendor) -> VendorStanding | None:
    """The bill-mapping's standing of one vendor (what `mlc bill unmatched` reads)."""
    topic = stack.topics.prefix + STATE_BILL_VENDORS.name
    try:
        standings = load_standings(KafkaSettings(), serde_for(RegistrySettings()), topic,
                                   client=f"run-{stack.run_id}-bill-holds")  # fmt: skip
    except StateLoadError:
        return None  # nothing decided yet
    return next((s for s in standings if s.vendor_id == vendor.vendor_id), None)


def _listing(standing: VendorStanding) -> str:
    """`mlc bill unmatched`'s vendor and what was tried, then the held bills in one line."""
    said = [line for line in describe(standing).splitlines() if not line.startswith("  held ")]
    held = ", ".join(f"{h.bill.invoice_number} ({h.kind})" for h in standing.held)
    return "\n".join([*said, f"  held: {held}"]) + "\n"


def _unmatched(stack: FlowStack, vendor: PlannedVendor) -> int:
    """How many of the vendor's bills the bill-mapping holds for want of a Visma supplier."""
    standing = _standing(stack, vendor)
    return sum(h.kind == "unmatched" for h in standing.held) if standing is not None else 0
