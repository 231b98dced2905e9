"""The demo's Airbase part: a summary that says OK only when every Visma invoice is one
Airbase bill, every supplier one vendor, every paid bill one Visma supplier payment on the
invoice's supplier, amount, GL accounts and cost centers with its entry synced; FAILED on a
missing or duplicated bill or payment or a wrong allocation. The approver pays only `Open`
invoices; the rule the part adds is one the processor accepts and routes to Airbase."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stdout
from copy import deepcopy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from events.commands import SyncToAirbase
from mlc import demo_airbase
from mlc.demo_airbase_outcome import AirbaseOutcome, PaidBill
from mlc.stack import DEFAULT_RULES
from processor.routing import route_all
from processor.rules import load_rules
from visma_client.models import SupplierInvoiceDto
from visma_poller.mapping import supplier_invoice_event

pytestmark = pytest.mark.unit


def invoice(reference: str, supplier: str, *, status: str = "Open") -> dict[str, Any]:
    """A Visma supplier invoice as the sandbox lists it: net lines, the amount with VAT."""
    return {
        "company": "tenant-se-1", "documentType": "Invoice", "referenceNumber": reference,
        "status": status, "supplier": {"number": supplier, "name": f"Supplier {supplier}"},
        "currencyId": "SEK", "amount": 1250.0, "balance": 1250.0,
        "invoiceLines": [
            {"lineNumber": 1, "amount": 600.0, "accountNumber": "5710",
             "subaccount": {"id": "CC200"}},
            {"lineNumber": 2, "amount": 400.0, "accountNumber": "6110",
             "subaccount": {"id": "CC100"}},
        ],
    }  # fmt: skip


INVOICES = [invoice("100001", "10001"), invoice("100002", "10002"), invoice("100003", "10001"),
            invoice("100004", "10003", status="Balanced")]  # fmt: skip


def bill(inv: dict[str, Any], *, status: str = "pending_approval") -> dict[str, Any]:
    return {"airbase_id": f"bill-{inv['referenceNumber']}",
            "erp_reference_id": inv["referenceNumber"], "status": status,
            "total_amount": f"{inv['amount']:.2f}"}  # fmt: skip


def listing(records: list[dict[str, Any]], *, twice: str | None = None) -> dict[str, Any]:
    creates = {r["erp_reference_id"]: 1 + (r["erp_reference_id"] == twice) for r in records}
    return {"records": records, "counters": {"creates": creates}}


def payment(paid: PaidBill, number: int) -> dict[str, Any]:
    """The Visma payment the Visma writer makes of a paid bill, allocated as the invoice."""
    return {
        "refNbr": f"SP1{number:05d}", "paymentRef": f"airbase:{paid.entry_id}",
        "supplier": {"number": paid.supplier}, "paymentAmount": 1250.0, "currency": "SEK",
        "paymentLines": [{"refNbr": paid.reference, "amountPaid": 1250.0}],
        "allocations": [
            {"accountNumber": "5710", "subaccount": {"id": "CC200"}, "amount": 750.0},
            {"accountNumber": "6110", "subaccount": {"id": "CC100"}, "amount": 500.0},
        ],
    }  # fmt: skip


def outcome() -> AirbaseOutcome:
    """What a good run shows: three Open invoices paid, each once, entries synced."""
    paid = [PaidBill(i, f"bill-{i['referenceNumber']}", f"entry-{n}")
            for n, i in enumerate(INVOICES[:3])]  # fmt: skip
    payments = [payment(p, n) for n, p in enumerate(paid)]
    seeded = {"refNbr": "SP000001", "supplier": {"number": "10001"}, "paymentAmount": 99.0}
    entries = [{"airbase_id": p.entry_id, "status": "synced", "erp_reference_id": v["refNbr"]}
               for p, v in zip(paid, payments, strict=True)]  # fmt: skip
    vendors = [{"erp_reference_id": s} for s in ("10001", "10002", "10003")]
    return AirbaseOutcome(
        invoices=INVOICES, bills=listing([bill(i) for i in INVOICES]),
        vendors=listing(vendors), paid=paid, payments=[seeded, *payments], entries=entries,
        webhooks=[{"type": "bill_paid", "outcome": "delivered"} for _ in paid]
        + [{"type": "bill_approved", "outcome": "delivered"}],
    )  # fmt: skip


def verdict(found: AirbaseOutcome) -> tuple[bool, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        ok = found.summary()
    return ok, out.getvalue()


def test_a_good_run_is_ok_and_shows_each_payment_with_its_account_and_cost_center() -> None:
    ok, said = verdict(outcome())

    assert ok, said
    assert "Airbase bills              : 4 made for 4 Visma supplier invoices, 3 vendors" in said
    assert "Airbase approver           : approved and paid 3 bills" in said
    assert "Visma supplier payments    : 3 written" in said
    assert ("  payment SP100000: supplier 10001, invoice 100001, 1250.00 SEK on "
            "5710/CC200 750.00, 6110/CC100 500.00") in said  # fmt: skip
    assert "Airbase entries synced     : 3 of 3" in said
    assert "Airbase bill_paid webhooks : 3 delivered to the ingress (signed)" in said
    assert "check                      : OK" in said


def _drop_bill(found: AirbaseOutcome) -> None:
    found.bills = listing(found.bills["records"][1:])


def _bill_twice(found: AirbaseOutcome) -> None:
    found.bills = listing(found.bills["records"], twice="100002")


def _vendor_twice(found: AirbaseOutcome) -> None:
    found.vendors = listing(found.vendors["records"], twice="10003")


def _no_payment(found: AirbaseOutcome) -> None:
    found.payments = [p for p in found.payments if p.get("paymentRef") != "airbase:entry-1"]


def _payment_twice(found: AirbaseOutcome) -> None:
    again = deepcopy(found.payments[2]) | {"refNbr": "SP199999"}
    found.payments.append(again)


def _wrong_cost_center(found: AirbaseOutcome) -> None:
    found.payments[1]["allocations"][1]["subaccount"] = {"id": "CC300"}


def _default_account(found: AirbaseOutcome) -> None:
    for allocation in found.payments[1]["allocations"]:
        allocation["accountNumber"] = "2440"


def _short_allocation(found: AirbaseOutcome) -> None:
    found.payments[3]["allocations"][1]["amount"] = 250.0


def _wrong_supplier(found: AirbaseOutcome) -> None:
    found.payments[1]["supplier"] = {"number": "10002"}


def _wrong_amount(found: AirbaseOutcome) -> None:
    found.payments[2]["paymentAmount"] = 1000.0


def _not_synced(found: AirbaseOutcome) -> None:
    found.entries[0]["status"] = "sync_ready"


def _synced_as_another(found: AirbaseOutcome) -> None:
    found.entries[2]["erp_reference_id"] = "SP000001"


def _paid_unasked(found: AirbaseOutcome) -> None:
    found.payments.append(deepcopy(found.payments[1]) | {"paymentRef": "airbase:entry-9"})


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (_drop_bill, "invoice 100001: no Airbase bill"),
        (_bill_twice, "invoice 100002: bill made 2 times"),
        (_vendor_twice, "supplier 10003: vendor made 2 times"),
        (_no_payment, "invoice 100002: 0 Visma payments"),
        (_payment_twice, "invoice 100002: 2 Visma payments"),
        (_wrong_cost_center, "invoice 100001: allocated on [('5710', 'CC200'), ('6110', 'CC300')]"),
        (_default_account, "invoice 100001: allocated on [('2440', 'CC200'), ('2440', 'CC100')]"),
        (_short_allocation, "invoice 100003: allocations do not add up to 1250.00"),
        (_wrong_supplier, "invoice 100001: paid to {'number': '10002'}, not supplier 10001"),
        (_wrong_amount, "invoice 100002: paid 1000.0, not 1250.00"),
        (_not_synced, "invoice 100001: Airbase entry not marked synced"),
        (_synced_as_another, "invoice 100003: entry synced as SP000001, not SP100002"),
        (_paid_unasked, "1 Visma payments of Airbase entries nobody paid"),
    ],
)
def test_a_missing_duplicated_or_misallocated_bill_or_payment_fails(
    spoil: Any, reason: str
) -> None:
    found = outcome()
    spoil(found)

    ok, said = verdict(found)

    assert not ok
    assert "check                      : FAILED: " in said
    assert reason in said, said


def test_the_approver_pays_open_invoices_not_yet_paid_whose_bill_awaits_approval() -> None:
    paid_before = invoice("100005", "10001") | {"balance": 250.0}
    approved = invoice("100006", "10001")
    other_amount = invoice("100007", "10002")
    invoices = [*INVOICES, paid_before, approved, other_amount, invoice("100008", "10004")]
    bills = {i["referenceNumber"]: bill(i) for i in invoices[:-1]}
    bills["100006"] = bill(approved, status="approved")
    bills["100007"] = bill(other_amount) | {"total_amount": "1000.00"}

    chosen = demo_airbase.payable_invoices(list(reversed(invoices)), bills)

    assert [i["referenceNumber"] for i in chosen] == ["100001", "100002", "100003"]


def test_the_airbase_rule_is_accepted_and_sends_only_the_swedish_companys_records(
    tmp_path: Path,
) -> None:
    rules_path = tmp_path / "rules.yaml"
    shutil.copy(DEFAULT_RULES, rules_path)
    demo_airbase.add_rules(rules_path)
    rules = load_rules(rules_path)

    def routed(company: str) -> list[Any]:
        modified = "2026-12-01T08:00:00"
        raw = invoice("100001", "10001") | {"company": company, "lastModifiedDateTime": modified}
        event = supplier_invoice_event(
            SupplierInvoiceDto.model_validate(raw), tenant_id=company, company_id=company,
            observed_at=datetime.now(UTC),
        )  # fmt: skip
        return route_all(event, rules)

    assert [type(c) for c in routed("tenant-se-1")] == [SyncToAirbase]
    assert routed("tenant-no-1") == []
