"""What the demo's BILL part finds at the end, against what the AP clerk entered in BILL.

Counted where it matters: the supplier invoices and suppliers Visma holds (the sandbox's
listing), the path each bill version first reached Kafka by (`bill.bill.v1`: `webhook` from
the ingress, `poll` from the bill-poller), BILL's own webhook counts, and the bill-mapping's
standing of the unmatched vendor while it was held. Expectations come from the clerk's
entries (amounts, GL accounts and departments mapped by the demo's mapping file), never from
what the connector wrote. Kept apart from `mlc.demo_bill` so the verdict and its lines are
tested without a broker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from bill_mapping.standing import VendorStanding
from chassis.kafka.state import StateLoadError, iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events.bill import BILL_BILLS, BillBillChanged
from mlc.bill_stack import BILL_TENANT, DEMO_ACCOUNTS, DEMO_COST_CENTERS
from mlc.stack import FlowStack

Line = tuple[Decimal, str, str | None]
"""(amount, Visma GL account, Visma cost center) of one invoice line."""
Invoices = dict[str, list[dict[str, Any]]]
"""Invoice number -> the Visma supplier invoices with it as supplier reference."""


@dataclass
class PlannedVendor:
    vendor_id: str
    name: str
    tax_id: str
    """The CVR number (BILL's taxId), the supplier's organisation number in Visma."""
    email: str | None
    supplier_number: str | None
    """The Visma supplier it must book to (None: not in Visma yet, the unmatched vendor)."""
    changed: bool = False


@dataclass(frozen=True)
class PlannedBill:
    bill_id: str
    vendor_id: str
    invoice_number: str
    updated_time: datetime
    """BILL's updatedTime of the newest version: with the id, BILL's order."""
    amount: Decimal
    lines: tuple[Line, ...]
    """The lines Visma must show, BILL's accounts and departments mapped."""
    changed: bool = False

    @classmethod
    def of(cls, answer: dict[str, Any], *, changed: bool = False) -> PlannedBill:
        """The bill as BILL answered its entry or change."""
        lines = tuple(
            (
                _money(item["amount"]),
                DEMO_ACCOUNTS[item["classifications"]["chartOfAccountId"]],
                DEMO_COST_CENTERS.get(item["classifications"].get("departmentId") or ""),
            )
            for item in answer["billLineItems"]
        )
        return cls(
            bill_id=answer["id"], vendor_id=answer["vendorId"],
            invoice_number=answer["invoice"]["invoiceNumber"],
            updated_time=datetime.fromisoformat(answer["updatedTime"]),
            amount=_money(answer["amount"]), lines=lines, changed=changed,
        )  # fmt: skip


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass
class BillOutcome:
    vendors: dict[str, PlannedVendor]
    bills: dict[str, PlannedBill]
    unmatched: str
    """The vendor id Visma had no supplier for."""
    invoices: Invoices
    suppliers: dict[str, dict[str, Any]]
    """Supplier number -> the Visma supplier."""
    first_path: dict[tuple[str, datetime], str] = field(default_factory=dict)
    """(bill id, updatedTime) -> `webhook` or `poll`: how that version first reached Kafka."""
    bill_events: Counter[str] = field(default_factory=Counter)
    """BILL's bill events by outcome (`delivered`, `dropped`...)."""
    held: VendorStanding | None = None
    """The unmatched vendor's standing while it was held (before its supplier was made)."""
    written_while_held: int = 0
    """The unmatched vendor's invoices Visma had while it was held: must stay 0."""
    took: float = 0.0

    # ---- the checks --------------------------------------------------------------------

    def written(self, bills: list[PlannedBill]) -> bool:
        return all_written(self.invoices, bills)

    def invoice_count(self, bills: list[PlannedBill] | None = None) -> int:
        return invoice_count(self.invoices, self.bills.values() if bills is None else bills)

    def held_bills(self) -> list[PlannedBill]:
        """The unmatched vendor's bills, in BILL's order (updated time, then id)."""
        found = [b for b in self.bills.values() if b.vendor_id == self.unmatched]
        return sorted(found, key=lambda b: (b.updated_time, b.bill_id))

    def problems(self) -> list[str]:
        wrong = [p for b in self.bills.values() for p in self._bill_problems(b)]
        for vendor in self.vendors.values():
            supplier = self.suppliers.get(vendor.supplier_number or "")
            email = (supplier or {}).get("mainContact", {}).get("email")
            if supplier is None:
                wrong.append(f"vendor {vendor.name}: no Visma supplier")
            elif vendor.changed and email != vendor.email:
                wrong.append(f"supplier {vendor.supplier_number}: BILL's change not shown")
        return wrong + self._hold_problems()

    def _bill_problems(self, bill: PlannedBill) -> list[str]:
        found = self.invoices.get(bill.invoice_number, [])
        if len(found) != 1:
            return [f"bill {bill.invoice_number}: {len(found)} invoices in Visma"]
        invoice, wrong = found[0], []
        supplier = self.vendors[bill.vendor_id].supplier_number
        if (invoice.get("supplier") or {}).get("number") != supplier:
            wrong.append(f"bill {bill.invoice_number}: not on supplier {supplier}")
        if _money(invoice["amount"]) != bill.amount:
            wrong.append(f"bill {bill.invoice_number}: {invoice['amount']}, not {bill.amount}")
        lines = tuple(
            (_money(x["amount"]), x.get("accountNumber"), (x.get("subaccount") or {}).get("id"))
            for x in invoice.get("invoiceLines", [])
        )
        if lines != bill.lines:
            wrong.append(f"bill {bill.invoice_number}: lines {lines}, not {bill.lines}")
        return wrong

    def _hold_problems(self) -> list[str]:
        held = self.held_bills()
        listed = {h.bill.bill_id for h in self.held.held} if self.held else set()
        wrong = []
        if not held or listed != {b.bill_id for b in held}:
            wrong.append(f"held {len(listed)} bills, not the unmatched vendor's {len(held)}")
        kinds = {h.kind for h in self.held.held} if self.held else set()
        if kinds - {"unmatched"}:
            wrong.append(f"held as {sorted(kinds)}, not as unmatched")
        if self.written_while_held:
            wrong.append(f"{self.written_while_held} held bills written without a supplier")
        numbers = [int(i["referenceNumber"]) for b in held
                   for i in self.invoices.get(b.invoice_number, [])]  # fmt: skip
        if numbers != sorted(numbers):
            wrong.append("the held bills were not written in BILL's order")
        return wrong

    # ---- what the user reads ------------------------------------------------------------

    def lines(self) -> list[str]:
        """The part's summary, one figure a line, as the demo prints it."""
        paths = Counter(self.first_path.get((b.bill_id, b.updated_time), "not seen")
                        for b in self.bills.values())  # fmt: skip
        new = self.vendors[self.unmatched]
        paired = len(self.vendors) - 1
        changed_vendors = sum(v.changed for v in self.vendors.values())
        changed_bills = sum(b.changed for b in self.bills.values())
        held = self.held_bills()
        return [
            f"BILL organization          : {len(self.vendors)} vendors ({paired} already Visma "
            f"suppliers, 1 new), {len(self.bills)} bills; {changed_vendors} vendor and "
            f"{changed_bills} bill changed",
            f"BILL bill webhooks         : {sum(self.bill_events.values())} published, "
            f"{self.bill_events['dropped']} lost on the way; bills first seen by webhook "
            f"{paths['webhook']}, by the poll {paths['poll']}",
            f"Visma supplier invoices    : {self.invoice_count()} written for {len(self.bills)} "
            f"bills ({changed_bills} updated), with BILL's amounts, GL accounts, cost centers",
            f"Visma suppliers            : {paired} paired by CVR number, {changed_vendors} "
            f"updated from BILL, 1 created by hand ({new.name})",
            f"bills held and released    : {len(self.held.held) if self.held else 0} held "
            f"(no Visma supplier for {new.name}), {self.invoice_count(held)} released once "
            "its supplier was made",
        ]

    def summary(self) -> bool:
        for line in self.lines():
            print(line)
        wrong = self.problems()
        verdict = (
            "OK: every bill one supplier invoice on its vendor's supplier, the held ones "
            "released once, in BILL's order"
            if not wrong
            else "FAILED: " + "; ".join(wrong[:6])
        )
        print(f"check                      : {verdict} (in {self.took:.0f} s)")
        return not wrong


def all_written(invoices: Invoices, bills: Iterable[PlannedBill]) -> bool:
    """Every bill in Visma in its newest version (what the part waits for)."""
    return all(
        any(_money(i["amount"]) == b.amount for i in invoices.get(b.invoice_number, []))
        for b in bills
    )


def invoice_count(invoices: Invoices, bills: Iterable[PlannedBill]) -> int:
    return sum(len(invoices.get(b.invoice_number, [])) for b in bills)


def read_invoices(stack: FlowStack, bills: Iterable[PlannedBill]) -> Invoices:
    """The client's company's supplier invoices written for these bills."""
    listed = _get(stack, f"/visma/_sandbox/entities/supplierInvoice?company={BILL_TENANT}")
    wanted = {b.invoice_number for b in bills}
    invoices: Invoices = {}
    for invoice in listed:
        if invoice.get("supplierReference") in wanted:
            invoices.setdefault(str(invoice["supplierReference"]), []).append(invoice)
    return invoices


def read_outcome(
    stack: FlowStack,
    vendors: dict[str, PlannedVendor],
    bills: dict[str, PlannedBill],
    *,
    unmatched: str,
) -> BillOutcome:
    """Visma's suppliers and invoices of the client's company, the paths, BILL's counts."""
    invoices = read_invoices(stack, bills.values())
    suppliers = {str(s["number"]): s for s in _get(
        stack, f"/visma/_sandbox/entities/supplier?company={BILL_TENANT}")}  # fmt: skip
    events = Counter(str(e["outcome"]) for e in _get(stack, "/bill/_sandbox/webhooks/events")
                     if str(e["eventType"]).startswith("bill."))  # fmt: skip
    return BillOutcome(vendors, bills, unmatched, invoices, suppliers, _first_paths(stack), events)


def _first_paths(stack: FlowStack) -> dict[tuple[str, datetime], str]:
    serde = AvroSerde(SchemaCatalog.load())
    seen: dict[tuple[str, datetime], tuple[datetime, str]] = {}
    topic = stack.topics.prefix + BILL_BILLS.name
    try:
        records = iter_to_end(KafkaSettings(), topic, client=f"run-{stack.run_id}-bill-paths")
        for _, value in records:
            bill = BillBillChanged.from_record(serde.decode(value)[1])
            version = (bill.bill_id, bill.updated_time)
            if version not in seen or bill.received_at < seen[version][0]:
                seen[version] = (bill.received_at, bill.source)
    except StateLoadError:
        pass  # nothing arrived yet: the topic is made with the first fact
    return {version: path for version, (_, path) in seen.items()}


def _get(stack: FlowStack, path: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{stack.base_url}{path}", timeout=30)
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()
    return found
