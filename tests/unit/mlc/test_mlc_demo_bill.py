"""The demo's BILL part: a summary that says OK only when Visma holds every bill once on its
vendor's supplier with BILL's amounts and lines, and the unmatched vendor's bills were held
and then written in BILL's order; the clerk's bills stay under the Slack rules' thresholds;
the mapping file the part writes is one the bill-mapping accepts."""

from __future__ import annotations

import io
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bill_mapping.config import VendorPolicy, load_config
from bill_mapping.standing import HeldBill, VendorStanding
from events.bill import BillBillChanged
from mlc import demo_bill
from mlc.bill_stack import BILL_TENANT, DEMO_ACCOUNTS, DEMO_COST_CENTERS
from mlc.demo_bill_outcome import BillOutcome, PlannedBill, PlannedVendor
from mlc.stack import DEFAULT_RULES, FlowStack
from processor.routing import route
from processor.rules import load_rules
from sandbox.bill.config import DEMO_ORGANIZATION_ID
from visma_client.models import SupplierInvoiceDto
from visma_poller.mapping import supplier_invoice_event

pytestmark = pytest.mark.unit

ACCOUNT, DEPARTMENT = sorted(DEMO_ACCOUNTS)[1], sorted(DEMO_COST_CENTERS)[0]
T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def bill_answer(n: int, vendor: str, amounts: list[float], *, minutes: int) -> dict[str, Any]:
    """A bill as BILL answers its entry."""
    return {
        "id": f"00n01{n:015d}",
        "vendorId": vendor,
        "invoice": {"invoiceNumber": f"ND-{1000 + n}", "invoiceDate": "2026-12-03"},
        "updatedTime": (T0 + timedelta(minutes=minutes)).isoformat(timespec="milliseconds"),
        "amount": sum(amounts),
        "billLineItems": [
            {"amount": a, "classifications": {"chartOfAccountId": ACCOUNT,
                                              "departmentId": DEPARTMENT}}
            for a in amounts
        ],
    }  # fmt: skip


def invoice_of(bill: PlannedBill, *, supplier: str, reference: int) -> dict[str, Any]:
    """The Visma supplier invoice the writer would make of it."""
    return {
        "referenceNumber": str(reference),
        "supplierReference": bill.invoice_number,
        "supplier": {"number": supplier},
        "amount": float(bill.amount),
        "invoiceLines": [
            {"amount": float(a), "accountNumber": acc, "subaccount": {"id": cc}}
            for a, acc, cc in bill.lines
        ],
    }


def held_standing(vendor: str, bills: list[PlannedBill]) -> VendorStanding:
    def fact(b: PlannedBill) -> BillBillChanged:
        return BillBillChanged(
            tenant_id=BILL_TENANT, organization_id=DEMO_ORGANIZATION_ID, bill_id=b.bill_id,
            change="created", updated_time=b.updated_time, source="poll", vendor_id=vendor,
            invoice_number=b.invoice_number, invoice_date=date(2026, 12, 3), amount=b.amount,
            received_at=b.updated_time,
        )  # fmt: skip

    return VendorStanding(
        tenant_id=BILL_TENANT, organization_id=DEMO_ORGANIZATION_ID, vendor_id=vendor,
        tried=("no link",),
        held=tuple(HeldBill(fact(b), "unmatched", "no Visma supplier") for b in bills),
    )  # fmt: skip


@pytest.fixture
def outcome() -> BillOutcome:
    """Two vendors, the second new to Visma and created by hand as 10013; all correct."""
    vendors = {
        "V1": PlannedVendor("V1", "Egelund Rengøring A/S", "40219489", "a@x.dk", "10001"),
        "V2": PlannedVendor("V2", "Nyhavn Kaffe ApS", "95822412", "k@x.dk", "10013"),
    }
    vendors["V1"].changed = True
    bills = {
        b.bill_id: b
        for b in (
            PlannedBill.of(bill_answer(1, "V1", [1200.0, 300.5], minutes=1), changed=True),
            PlannedBill.of(bill_answer(2, "V2", [99.0], minutes=2)),
            PlannedBill.of(bill_answer(3, "V2", [450.25], minutes=3)),
        )
    }
    b1, b2, b3 = bills.values()
    invoices = {
        b1.invoice_number: [invoice_of(b1, supplier="10001", reference=100026)],
        b2.invoice_number: [invoice_of(b2, supplier="10013", reference=100027)],
        b3.invoice_number: [invoice_of(b3, supplier="10013", reference=100028)],
    }
    suppliers = {
        "10001": {"number": "10001", "mainContact": {"email": "a@x.dk"}},
        "10013": {"number": "10013", "mainContact": {"email": "k@x.dk"}},
    }
    return BillOutcome(
        vendors, bills, "V2", invoices, suppliers,
        first_path={(b1.bill_id, b1.updated_time): "webhook",
                    (b2.bill_id, b2.updated_time): "poll",
                    (b3.bill_id, b3.updated_time): "webhook"},
        bill_events=Counter({"delivered": 3, "dropped": 1}),
        held=held_standing("V2", [b2, b3]), took=12.0,
    )  # fmt: skip


def printed(outcome: BillOutcome) -> tuple[bool, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        ok = outcome.summary()
    return ok, out.getvalue()


def test_all_written_once_held_and_released_in_order_is_ok_with_its_figures(
    outcome: BillOutcome,
) -> None:
    ok, text = printed(outcome)
    assert ok, text
    assert "2 vendors (1 already Visma suppliers, 1 new), 3 bills; 1 vendor and 1 bill" in text
    assert "4 published, 1 lost on the way; bills first seen by webhook 2, by the poll 1" in text
    assert "3 written for 3 bills (1 updated)" in text
    assert "2 held (no Visma supplier for Nyhavn Kaffe ApS), 2 released" in text
    assert "check                      : OK" in text


def _bill(outcome: BillOutcome, n: int) -> PlannedBill:
    return list(outcome.bills.values())[n]


@pytest.mark.parametrize(
    ("spoil", "said"),
    [
        (lambda o: o.invoices[_bill(o, 0).invoice_number].append(
            invoice_of(_bill(o, 0), supplier="10001", reference=100030)), "2 invoices in Visma"),
        (lambda o: o.invoices.pop(_bill(o, 1).invoice_number), "0 invoices in Visma"),
        (lambda o: o.invoices[_bill(o, 0).invoice_number][0].update(
            supplier={"number": "10002"}), "not on supplier 10001"),
        (lambda o: o.invoices[_bill(o, 0).invoice_number][0].update(amount=1200.0),
         "1200.0, not 1500.50"),
        (lambda o: o.invoices[_bill(o, 0).invoice_number][0]["invoiceLines"][0].update(
            accountNumber="9999"), "lines"),
        (lambda o: o.suppliers["10001"].update(mainContact={"email": "old@x.dk"}),
         "BILL's change not shown"),
        (lambda o: o.invoices[_bill(o, 2).invoice_number][0].update(referenceNumber="100020"),
         "not written in BILL's order"),
        (lambda o: setattr(o, "held", None), "held 0 bills, not the unmatched vendor's 2"),
        (lambda o: setattr(o, "written_while_held", 1), "1 held bills written without a supplier"),
        (lambda o: setattr(o, "held", replace(o.held, held=tuple(
            replace(h, kind="pending") for h in o.held.held))), "not as unmatched"),
    ],
    ids=["twice", "missing", "wrong-supplier", "old-amount", "wrong-account", "vendor-change",
         "out-of-order", "never-held", "written-while-held", "held-as-pending"],
)  # fmt: skip
def test_each_way_visma_can_be_wrong_says_failed(
    outcome: BillOutcome, spoil: Any, said: str
) -> None:
    spoil(outcome)
    ok, text = printed(outcome)
    assert not ok
    assert "check                      : FAILED" in text
    assert said in text


def test_written_waits_for_the_newest_version_of_every_bill(outcome: BillOutcome) -> None:
    bills = list(outcome.bills.values())
    assert outcome.written(bills)
    outcome.invoices[bills[0].invoice_number][0]["amount"] = 1200.0  # the first version
    assert not outcome.written(bills)
    assert outcome.written(bills[1:])


def _routed(amount: int) -> list[Any]:
    """What the demo rules make of a DKK supplier invoice of `amount` in the Danish company."""
    raw = {
        "documentType": "Invoice", "referenceNumber": "100099", "status": "Balanced",
        "supplier": {"number": "10001", "name": "Egelund Rengøring A/S"},
        "currencyId": "DKK", "amount": amount, "balance": amount,
        "date": "2026-12-03T00:00:00", "supplierReference": "ND-1001",
        "lastModifiedDateTime": "2026-12-03T08:00:00.000",
    }  # fmt: skip
    event = supplier_invoice_event(
        SupplierInvoiceDto.model_validate(raw), tenant_id=BILL_TENANT, company_id=BILL_TENANT,
        observed_at=T0,
    )  # fmt: skip
    return list(route(event, load_rules(DEFAULT_RULES)))


def test_the_clerks_largest_bill_adds_no_slack_message() -> None:
    """Every BILL invoice (1 to 3 lines) stays under the demo rules' DKK thresholds, so the
    Slack part's expected messages (computed before the clerk starts) are still all."""
    largest = 3 * (demo_bill.LINE_AMOUNTS[1] - 1)
    assert _routed(largest) == []
    assert _routed(8000) != [], "the rules' lowest DKK threshold, for contrast"


def test_the_parts_mapping_file_matches_vendors_into_the_danish_company(tmp_path: Path) -> None:
    stack = FlowStack(run_id="bill-demo", state_dir=tmp_path)
    demo_bill.prepare(stack)
    path = tmp_path / "bill-mapping.yaml"
    path.write_text(yaml.safe_dump(stack.bill.mapping))
    org = load_config(path).organization(BILL_TENANT, DEMO_ORGANIZATION_ID)
    assert org is not None
    assert org.vendor_policy is VendorPolicy.MATCH
    assert org.company == BILL_TENANT
    assert set(org.accounts) == set(DEMO_ACCOUNTS)
    assert set(org.cost_centers) == set(DEMO_COST_CENTERS)
