"""The whole Visma <-> Airbase loop of issue 14 as processes, shared by its end-to-end tests.

Visma's supplier invoices and suppliers go out (visma-poller, processor with the Airbase
rules, airbase-sink) as Airbase bills and vendors; an approver approves and pays bills in the
Airbase sandbox (its admin routes); the payments come back (Airbase's signed webhook to the
ingress nudging the airbase-poller, which also pulls on its schedule; airbase-payments; the
Visma writer) as Visma supplier payments, and each Airbase entry is marked synced (the
airbase-sink again). What the tests check is counted where it lands: the Airbase sandbox's
records and create counters, the Visma sandbox's payments and invoices.

Which invoices are paid: a Visma supplier invoice can be paid only once it is released
(`Open`). An AP clerk releases the approved invoices in Visma (`POST
/v1/supplierInvoice/{documentType}/{number}/action/release`, Visma's public API, done here
with the run's own API client and token) before Airbase's approver pays them, so the paid
invoices are those already `Open` plus invoices waiting for approval or balanced that the
clerk released; invoices closed or on hold in Visma are sent to Airbase but never paid.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from mlc.stack import ROOT, SANDBOX_SECRETS, FlowStack, free_port

TENANT = "tenant-se-1"
"""The demo's tenant: its Visma company and its Airbase account have the same id."""
RULES = ROOT / "services/processor/examples/airbase-rules.yaml"
ENTITIES = ("supplierInvoice", "supplier", "account", "dimension")
WEBHOOK_SECRET = "whsec-e2e-airbase-loop-0123456789"
PAYABLE = "Open"
RELEASABLE = ("PendingApproval", "Balanced")
SERVICES = (
    "visma-poller", "processor", "airbase-sink", "airbase-poller", "airbase-payments",
    "visma-writer",
)  # fmt: skip


def money(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass
class AirbaseLoop:
    stack: FlowStack
    released: list[str] = field(default_factory=list)
    """Invoices the clerk released in Visma for this run (reference numbers)."""

    # ---- standing the loop up ----------------------------------------------------------

    def start_sandbox(self) -> None:
        """The sandbox, with budgets a flow of hundreds of calls a minute fits in."""
        self.stack.start_sandbox()
        self.airbase_admin("PATCH", "/limits", {"requests_per_hour": 1_000_000})

    def start_services(self) -> None:
        """The ingress first, Airbase's webhooks pointed at it (signed with the tenant's
        secret, which the ingress reads from the run's vault), then every other service."""
        stack = self.stack
        stack.ingress_port = stack.ingress_port or free_port()
        stack.credentials().values[f"airbase/{TENANT}/webhook-secret"] = SecretStr(WEBHOOK_SECRET)
        stack.start("ingress").wait_for_log("listening", timeout=90)
        url = f"http://127.0.0.1:{stack.ingress_port}/webhooks/airbase?tenant={TENANT}"
        self.airbase_admin("PUT", "/webhooks", {"tenant": TENANT, "url": url,
                                                "secret": WEBHOOK_SECRET})  # fmt: skip
        stack.start_services(SERVICES)

    # ---- the Visma side ----------------------------------------------------------------

    def invoices(self) -> list[dict[str, Any]]:
        """The tenant's supplier invoices (not credit notes) as Visma holds them now."""
        found = self.stack.get("/visma/_sandbox/invoices")
        return [
            i for i in found
            if i["company"] == TENANT and i.get("documentType", "Invoice") == "Invoice"
        ]  # fmt: skip

    def release_for_payment(self, count: int) -> list[dict[str, Any]]:
        """`count` invoices Airbase's approver will pay, released in Visma as the AP clerk
        does: the `Open` ones first, then invoices waiting for approval or balanced."""
        invoices = sorted(self.invoices(), key=lambda i: i["referenceNumber"])
        chosen = [i for i in invoices if i["status"] == PAYABLE and money(i["balance"])
                  == money(i["amount"])]  # fmt: skip
        chosen += [i for i in invoices if i["status"] in RELEASABLE]
        assert len(chosen) >= count, f"only {len(chosen)} invoices can be paid"
        chosen = chosen[:count]
        token = self._visma_token()
        with httpx.Client(base_url=f"{self.stack.base_url}/visma", timeout=30) as visma:
            for invoice in chosen:
                if invoice["status"] == PAYABLE:
                    continue
                number = invoice["referenceNumber"]
                visma.post(
                    f"/v1/supplierInvoice/Invoice/{number}/action/release",
                    headers={"Authorization": f"Bearer {token}", "ipp-company-id": TENANT},
                ).raise_for_status()
                self.released.append(number)
        by_ref = {i["referenceNumber"]: i for i in self.invoices()}
        chosen = [by_ref[i["referenceNumber"]] for i in chosen]
        assert {i["status"] for i in chosen} == {PAYABLE}
        return chosen

    def _visma_token(self) -> str:
        answer = httpx.post(
            f"{self.stack.base_url}/visma/connect/token",
            data={"grant_type": "client_credentials", "client_id": "mlc-demo",
                  "client_secret": SANDBOX_SECRETS["VISMA_CLIENT_SECRET"], "tenant_id": TENANT},
            timeout=30,
        )  # fmt: skip
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def visma_admin(self, verb: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = httpx.request(
            verb, f"{self.stack.base_url}/visma/_sandbox{path}", json=body, timeout=30
        )
        answer.raise_for_status()
        return answer.json()

    def visma_payments(self) -> dict[str, list[dict[str, Any]]]:
        """Airbase entry id -> the Visma supplier payments naming it (one, if right)."""
        found = self.stack.get(f"/visma/_sandbox/entities/supplierPayment?company={TENANT}")
        by_entry: dict[str, list[dict[str, Any]]] = {}
        for payment in found:
            ref = str(payment.get("paymentRef") or "")
            if ref.startswith("airbase:"):
                by_entry.setdefault(ref.removeprefix("airbase:"), []).append(payment)
        return by_entry

    # ---- the Airbase side --------------------------------------------------------------

    def airbase_admin(self, verb: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = httpx.request(
            verb, f"{self.stack.base_url}/airbase/_sandbox{path}", json=body, timeout=30
        )
        answer.raise_for_status()
        return answer.json()

    def airbase(self, resource: str) -> dict[str, Any]:
        """The tenant's records of one collection (any status) and their counters."""
        found: dict[str, Any] = self.airbase_admin("GET", f"/{resource}?tenant={TENANT}")
        return found

    def bills_by_invoice(self) -> dict[str, dict[str, Any]]:
        return {b["erp_reference_id"]: b for b in self.airbase("bills")["records"]}

    def approve_and_pay(self, bills: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """An approver approves and pays each bill in full: bill airbase_id -> its entry."""
        entries = {}
        for bill in bills:
            self.airbase_admin("POST", f"/bills/{bill['airbase_id']}/approve")
            entries[bill["airbase_id"]] = self.airbase_admin(
                "POST", f"/bills/{bill['airbase_id']}/pay"
            )
        return entries

    def synced(self) -> dict[str, str | None]:
        """Entry id -> the Visma payment number it is marked synced with (None: not yet)."""
        records = self.airbase("ledger_entries")["records"]
        return {
            e["airbase_id"]: e["erp_reference_id"] if e["status"] == "synced" else None
            for e in records
        }

    def pulls(self) -> Counter[str]:
        """The airbase-poller's pulls that published payments, by what started them (`poll`:
        its schedule, `webhook`: Airbase's webhook through the ingress)."""
        log = self.stack.children["airbase-poller"].log_path.read_text()
        return Counter(found for found in re.findall(r'"msg": "pulled".*?"via": "(\w+)"', log))

    # ---- waiting -----------------------------------------------------------------------

    def wait(self, what: str, done: Callable[[], bool], *, timeout: float = 420) -> float:
        """Polls `done` (every process alive meanwhile); returns the seconds it took."""
        start = time.monotonic()
        while not done():
            self.stack.check_alive()
            assert time.monotonic() - start < timeout, f"{what} not within {timeout}s"
            time.sleep(0.5)
        return time.monotonic() - start


def twice(counters: dict[str, int]) -> dict[str, int]:
    return {ref: n for ref, n in counters.items() if n != 1}


def allocations(bill: dict[str, Any]) -> Counter[tuple[str, str | None, Decimal]]:
    """What the bill's lines ask Visma to book: GL account, cost center, amount (the demo's
    payments file maps each Airbase code to the same Visma one)."""
    return Counter(
        (line["account"]["erp_reference_id"], _department(line), money(line["amount"]))
        for line in bill["expense_list"]
    )


def _department(line: dict[str, Any]) -> str | None:
    tags = [t["erp_reference_id"] for t in line["tags"] if t["type"] == "department"]
    return tags[0] if tags else None


def booked(payment: dict[str, Any]) -> Counter[tuple[str, str | None, Decimal]]:
    return Counter(
        (a["accountNumber"], (a["subaccount"] or {}).get("id"), money(a["amount"]))
        for a in payment["allocations"]
    )
