"""What the demo's Airbase part finds at the end, against what Visma and the approver did.

Counted where it matters: the Airbase sandbox's bills and vendors with their create counters
(each Visma supplier invoice one bill, each supplier it names one vendor), the Visma supplier
payments whose reference carries an Airbase id, and Airbase's ledger entries (synced, with
the Visma payment number). Expectations come from Visma's own invoices (amount, supplier,
each line's GL account and cost center), never from what the connector wrote. Kept apart
from `mlc.demo_airbase` so the verdict and its lines are tested without a broker.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from events.visma_writes import payment_reference

Allocation = tuple[str, str | None]
"""(Visma GL account, Visma cost center) of one invoice line or payment allocation."""
AIRBASE = "airbase"
"""The source system named in the payment reference the Visma writer writes."""


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class PaidBill:
    """One Visma invoice whose Airbase bill the approver approved and paid."""

    invoice: dict[str, Any]
    """The Visma supplier invoice as Visma listed it when the approver paid (`Open`)."""
    bill_id: str
    entry_id: str
    """The Airbase ledger entry the payment made (its airbase_id)."""

    @property
    def reference(self) -> str:
        return str(self.invoice["referenceNumber"])

    @property
    def supplier(self) -> str:
        return str(self.invoice["supplier"]["number"])

    @property
    def amount(self) -> Decimal:
        return money(self.invoice["amount"])

    @property
    def allocations(self) -> list[Allocation]:
        """The invoice's lines' GL accounts and cost centers, in line order."""
        return [
            (str(x["accountNumber"]), (x.get("subaccount") or {}).get("id"))
            for x in self.invoice.get("invoiceLines") or []
        ]


@dataclass
class AirbaseOutcome:
    invoices: list[dict[str, Any]]
    """The company's Visma supplier invoices (credit notes left out: no bill for them)."""
    bills: dict[str, Any]
    """The Airbase sandbox's bills listing of the tenant: `records` and `counters`."""
    vendors: dict[str, Any]
    paid: list[PaidBill]
    payments: list[dict[str, Any]]
    """The company's Visma supplier payments."""
    entries: list[dict[str, Any]]
    """The tenant's Airbase ledger entries, any status."""
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    """Airbase's webhook events of the tenant (the sandbox's log: type, outcome)."""
    took: float = 0.0

    # ---- the checks --------------------------------------------------------------------

    def airbase_payments(self) -> list[dict[str, Any]]:
        """The Visma payments the Visma writer made of Airbase entries."""
        return [p for p in self.payments if str(p.get("paymentRef", "")).startswith(f"{AIRBASE}:")]

    def payments_of(self, paid: PaidBill) -> list[dict[str, Any]]:
        return [
            p for p in self.airbase_payments()
            if any(str(x.get("refNbr")) == paid.reference for x in p.get("paymentLines") or [])
        ]  # fmt: skip

    def entry(self, paid: PaidBill) -> dict[str, Any] | None:
        return next((e for e in self.entries if e.get("airbase_id") == paid.entry_id), None)

    def problems(self) -> list[str]:
        wrong = self._bill_problems() + self._vendor_problems()
        for paid in self.paid:
            wrong += self._payment_problems(paid)
        references = {payment_reference(AIRBASE, p.entry_id) for p in self.paid}
        extra = [p for p in self.airbase_payments() if p.get("paymentRef") not in references]
        if extra:
            wrong.append(f"{len(extra)} Visma payments of Airbase entries nobody paid")
        return wrong

    def _bill_problems(self) -> list[str]:
        creates = self.bills.get("counters", {}).get("creates", {})
        by_ref = {str(b["erp_reference_id"]): b for b in self.bills.get("records", [])}
        wrong = []
        for invoice in self.invoices:
            reference = str(invoice["referenceNumber"])
            bill = by_ref.get(reference)
            if bill is None:
                wrong.append(f"invoice {reference}: no Airbase bill")
            elif creates.get(reference, 0) != 1:
                wrong.append(f"invoice {reference}: bill made {creates.get(reference, 0)} times")
            elif money(bill["total_amount"]) != money(invoice["amount"]):
                wrong.append(f"invoice {reference}: bill of {bill['total_amount']}, "
                             f"not {money(invoice['amount'])}")  # fmt: skip
        return wrong

    def _vendor_problems(self) -> list[str]:
        creates = self.vendors.get("counters", {}).get("creates", {})
        wrong = []
        for supplier in sorted({str(i["supplier"]["number"]) for i in self.invoices}):
            made = creates.get(supplier, 0)
            if made != 1:
                wrong.append(f"supplier {supplier}: vendor made {made} times")
        return wrong

    def _payment_problems(self, paid: PaidBill) -> list[str]:
        found = self.payments_of(paid)
        if len(found) != 1:
            return [f"invoice {paid.reference}: {len(found)} Visma payments"]
        payment, wrong = found[0], []
        if (payment.get("supplier") or {}).get("number") != paid.supplier:
            wrong.append(f"invoice {paid.reference}: paid to {payment.get('supplier')}, "
                         f"not supplier {paid.supplier}")  # fmt: skip
        if money(payment.get("paymentAmount", 0)) != paid.amount:
            wrong.append(f"invoice {paid.reference}: paid {payment.get('paymentAmount')}, "
                         f"not {paid.amount}")  # fmt: skip
        allocations = payment.get("allocations") or []
        booked = [(str(a["accountNumber"]), (a.get("subaccount") or {}).get("id"))
                  for a in allocations]  # fmt: skip
        if booked != paid.allocations:
            wrong.append(f"invoice {paid.reference}: allocated on {booked}, "
                         f"not {paid.allocations}")  # fmt: skip
        elif sum((money(a["amount"]) for a in allocations), Decimal(0)) != paid.amount:
            wrong.append(f"invoice {paid.reference}: allocations do not add up to {paid.amount}")
        entry = self.entry(paid)
        if entry is None or entry.get("status") != "synced":
            wrong.append(f"invoice {paid.reference}: Airbase entry not marked synced")
        elif entry.get("erp_reference_id") != payment.get("refNbr"):
            synced_as, number = entry.get("erp_reference_id"), payment.get("refNbr")
            wrong.append(f"invoice {paid.reference}: entry synced as {synced_as}, not {number}")
        return wrong

    # ---- what the user reads ------------------------------------------------------------

    def lines(self) -> list[str]:
        """The part's summary, one figure a line (a line per payment), as the demo prints it."""
        bills = self.bills.get("records", [])
        vendors = self.vendors.get("records", [])
        synced = [p for p in self.paid if (self.entry(p) or {}).get("status") == "synced"]
        said = [
            f"Airbase bills              : {len(bills)} made for {len(self.invoices)} Visma "
            f"supplier invoices, {len(vendors)} vendors for their suppliers",
            f"Airbase approver           : approved and paid {len(self.paid)} bills (of invoices "
            "Visma has Open)",
            f"Visma supplier payments    : {len(self.airbase_payments())} written",
        ]
        for paid in self.paid:
            for payment in self.payments_of(paid):
                booked = ", ".join(
                    f"{a['accountNumber']}/{(a.get('subaccount') or {}).get('id') or '-'} "
                    f"{money(a['amount'])}"
                    for a in payment.get("allocations") or []
                )
                said.append(
                    f"  payment {payment.get('refNbr')}: supplier {paid.supplier}, invoice "
                    f"{paid.reference}, {money(payment.get('paymentAmount', 0))} "
                    f"{payment.get('currency') or paid.invoice.get('currencyId')} on {booked}"
                )
        said.append(f"Airbase entries synced     : {len(synced)} of {len(self.paid)}, "
                    "each with its Visma payment number")  # fmt: skip
        paid_events = Counter(str(e.get("outcome")) for e in self.webhooks
                              if e.get("type") == "bill_paid")  # fmt: skip
        delivered, sent = paid_events["delivered"], sum(paid_events.values())
        said.append(f"Airbase bill_paid webhooks : {delivered} delivered to the ingress "
                    f"(signed), each a pull at once; {sent} sent")  # fmt: skip
        return said

    def summary(self) -> bool:
        for line in self.lines():
            print(line)
        wrong = self.problems()
        verdict = (
            "OK: every invoice one bill, every paid bill one Visma payment on the invoice's "
            "GL accounts and cost centers, its entry synced"
            if not wrong
            else "FAILED: " + "; ".join(wrong[:6])
        )
        print(f"check                      : {verdict} (in {self.took:.0f} s)", flush=True)
        return not wrong
