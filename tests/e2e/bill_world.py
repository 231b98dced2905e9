"""What the BILL flow's end-to-end tests do and read: a BILL user's changes in the BILL
sandbox (its admin routes) and the suppliers and supplier invoices the Visma sandbox holds.

Expectations are computed from what the test asked BILL to hold (the vendors' tax ids,
the bills' invoice numbers, amounts and lines), never from what the connector wrote.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from mlc.bill_stack import BILL_TENANT, DEMO_ACCOUNTS, DEMO_COST_CENTERS
from mlc.stack import FlowStack
from sandbox.bill.config import DEMO_ORGANIZATION_ID

ACCOUNTS = sorted(DEMO_ACCOUNTS)
DEPARTMENTS = sorted(DEMO_COST_CENTERS)


@dataclass
class BillWorld:
    """The run's BILL organization as a user changes it, and Visma as the connector left it."""

    stack: FlowStack
    organization: str = DEMO_ORGANIZATION_ID
    company: str = BILL_TENANT
    vendors: dict[str, dict[str, Any]] = field(default_factory=dict)
    """BILL vendor id -> the vendor as BILL answered its last change."""
    bills: dict[str, dict[str, Any]] = field(default_factory=dict)
    """BILL bill id -> the bill as BILL answered its last change."""
    differing: list[str] = field(default_factory=list)
    """What `settled` found different last time (shown when a wait runs out)."""
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))
    """One connection kept open: hundreds of a user's changes in a few seconds."""

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.http.request(method, f"{self.stack.base_url}/bill/_sandbox{path}", json=body)
        assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def bill_admin(self, method: str, path: str, body: Any = None) -> Any:
        return self._admin(method, path, body)

    def visma_admin(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.http.request(method, f"{self.stack.base_url}/visma/_sandbox{path}", json=body)
        assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    # ---- a BILL user -------------------------------------------------------------------

    def new_vendor(
        self, n: int, *, name: str | None = None, tax_id: str | None = None
    ) -> dict[str, Any]:
        body = {"name": name or f"Leverandør {n} ApS", "taxId": tax_id or f"DK{31000000 + n}",
                "email": f"faktura{n}@leverandor.example"}  # fmt: skip
        vendor: dict[str, Any] = self._admin(
            "POST", f"/organizations/{self.organization}/vendors", body
        )
        self.vendors[vendor["id"]] = vendor
        return vendor

    def new_bill(self, vendor_id: str, number: str, amounts: list[float]) -> dict[str, Any]:
        body = {
            "vendorId": vendor_id,
            "invoice": {"invoiceNumber": number, "invoiceDate": "2026-11-20"},
            "dueDate": "2026-12-20",
            "billLineItems": [line(k, amount) for k, amount in enumerate(amounts)],
        }
        path = f"/organizations/{self.organization}/bills"
        bill: dict[str, Any] = self._admin("POST", path, body)
        self.bills[bill["id"]] = bill
        return bill

    def change_bill(self, bill_id: str, amounts: list[float]) -> dict[str, Any]:
        body = {"billLineItems": [line(k + 1, amount) for k, amount in enumerate(amounts)]}
        bill: dict[str, Any] = self._admin(
            "PATCH", f"/organizations/{self.organization}/bills/{bill_id}", body
        )
        self.bills[bill_id] = bill
        return bill

    def rename_vendor(self, vendor_id: str, name: str) -> dict[str, Any]:
        vendor: dict[str, Any] = self._admin(
            "PATCH", f"/organizations/{self.organization}/vendors/{vendor_id}", {"name": name}
        )
        self.vendors[vendor_id] = vendor
        return vendor

    # ---- Visma as the connector left it ------------------------------------------------

    def suppliers(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.visma_admin(
            "GET", f"/entities/supplier?company={self.company}"
        )
        return found

    def invoices(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.visma_admin(
            "GET", f"/entities/supplierInvoice?company={self.company}"
        )
        return found

    def suppliers_by_vendor(self) -> dict[str, list[dict[str, Any]]]:
        """BILL vendor id -> the Visma suppliers carrying its tax id (as organisation number
        when bare, as VAT number when it has a country prefix)."""
        listed = self.suppliers()
        return {
            vendor_id: [
                s
                for s in listed
                if vendor["taxId"] in (s.get("corporateId"), s.get("vatRegistrationId"))
            ]
            for vendor_id, vendor in self.vendors.items()
        }

    def invoices_by_bill(self) -> dict[str, list[dict[str, Any]]]:
        """BILL bill id -> the Visma supplier invoices with its invoice number as reference."""
        listed = self.invoices()
        return {
            bill_id: [
                i for i in listed if i.get("supplierReference") == bill["invoice"]["invoiceNumber"]
            ]
            for bill_id, bill in self.bills.items()
        }

    def mismatches(self) -> list[str]:
        """Every way Visma differs from BILL: a vendor not exactly one supplier, a bill not
        exactly one invoice of its vendor's supplier with BILL's amount and lines."""
        wrong: list[str] = []
        suppliers = self.suppliers_by_vendor()
        for vendor_id, found in suppliers.items():
            if len(found) != 1:
                wrong.append(f"vendor {vendor_id}: {len(found)} suppliers")
            elif found[0]["name"] != self.vendors[vendor_id]["name"]:
                wrong.append(f"vendor {vendor_id}: supplier named {found[0]['name']!r}")
        for bill_id, invoices in self.invoices_by_bill().items():
            bill = self.bills[bill_id]
            if len(invoices) != 1:
                wrong.append(f"bill {bill_id}: {len(invoices)} invoices")
                continue
            wrong.extend(f"bill {bill_id}: {d}" for d in differences(bill, invoices[0], suppliers))
        return wrong

    def settled(self) -> bool:
        """Visma is as BILL says (`mismatches` empty); else keeps what differs."""
        self.differing = self.mismatches()
        return not self.differing

    def wait(self, what: str, condition: Callable[[], bool], *, timeout: float = 120.0) -> float:
        """Waits (children checked alive) until `condition()`; returns the seconds it took."""
        started = time.monotonic()
        while not condition():
            self.stack.check_alive()
            assert time.monotonic() - started < timeout, (
                f"{what}: not within {timeout:.0f} s; {len(self.differing)} differences, "
                f"first {self.differing[:8]}"
            )
            time.sleep(0.5)
        return time.monotonic() - started


def line(k: int, amount: float) -> dict[str, Any]:
    """A bill line booked on one of the sandbox's GL accounts and departments."""
    return {
        "amount": amount,
        "description": f"Varer {k}",
        "classifications": {
            "chartOfAccountId": ACCOUNTS[k % len(ACCOUNTS)],
            "departmentId": DEPARTMENTS[k % len(DEPARTMENTS)],
        },
    }


def differences(
    bill: dict[str, Any], invoice: dict[str, Any], suppliers: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """How a Visma invoice differs from the BILL bill it was written from."""
    wrong = []
    supplier = suppliers.get(bill["vendorId"]) or [{}]
    if (invoice.get("supplier") or {}).get("number") != supplier[0].get("number"):
        wrong.append(f"supplier {invoice.get('supplier')} is not the vendor's")
    if round(float(invoice["amount"]), 2) != round(float(bill["amount"]), 2):
        wrong.append(f"amount {invoice['amount']} is not {bill['amount']}")
    want = [
        (
            round(float(item["amount"]), 2),
            DEMO_ACCOUNTS[item["classifications"]["chartOfAccountId"]],
            DEMO_COST_CENTERS[item["classifications"]["departmentId"]],
        )
        for item in bill["billLineItems"]
    ]
    got = [
        (round(float(x["amount"]), 2), x["accountNumber"], (x.get("subaccount") or {}).get("id"))
        for x in invoice["invoiceLines"]
    ]  # fmt: skip
    if got != want:
        wrong.append(f"lines {got} are not {want}")
    return wrong


def moment(text: str) -> datetime:
    """A BILL (`…+00:00`) or Visma (`…` in UTC, no zone) time as an aware datetime."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def first_sources(stack: FlowStack) -> dict[tuple[str, datetime], str]:
    """(bill id, BILL updatedTime) -> the path whose fact of that version came first
    (`webhook` or `poll`), by the facts' `received_at` on the run's bill.bill.v1."""
    serde = AvroSerde(SchemaCatalog.load())
    topic = f"{stack.topics.prefix}bill.bill.v1"
    first: dict[tuple[str, datetime], tuple[datetime, str]] = {}
    for _, value in iter_to_end(KafkaSettings(), topic, client=f"bill-e2e-{stack.run_id}"):
        fact = serde.decode(value)[1]
        version = (str(fact["bill_id"]), fact["updated_time"].astimezone(UTC))
        seen = (fact["received_at"], str(fact["source"]))
        if version not in first or seen < first[version]:
            first[version] = seen
    return {version: source for version, (_, source) in first.items()}


def delays(world: BillWorld, *, stamp: str, only: set[str] | None = None) -> dict[str, list[float]]:
    """Seconds from each bill's current version in BILL (`updatedTime`) to its invoice in
    Visma (`stamp`: `createdDateTime` or `lastModifiedDateTime`), by the path that first
    brought the version: {"webhook": [...], "poll": [...]}. Both times are the sandbox's
    clock, read back as seconds of real time at its speed. `only`: just these bills."""
    sources = first_sources(world.stack)
    speed = float(world.bill_admin("GET", "/clock")["speed"]) or 1.0
    found: dict[str, list[float]] = {"webhook": [], "poll": []}
    for bill_id, invoices in world.invoices_by_bill().items():
        if only is not None and bill_id not in only:
            continue
        changed = moment(world.bills[bill_id]["updatedTime"])
        source = sources[(bill_id, changed)]
        found[source].append((moment(invoices[0][stamp]) - changed).total_seconds() / speed)
    return found
