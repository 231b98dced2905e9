"""The payments' rule: what a mapped payment becomes, and why an unmappable one is held."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest
from tests.unit.airbase_payments.payment_samples import COMPANY, T0, TENANT, config, line, payment

from airbase_payments.mapping import Unmappable, command_id, paid_invoice, payment_command
from events.visma_writes import RecordSupplierPayment, SupplierPaymentAllocation

pytestmark = pytest.mark.unit


def test_a_mapped_payment_is_a_supplier_payment_on_the_mapped_accounts_and_cost_centers() -> None:
    command = payment_command(
        config(accounts={"4010": "4011", "6110": "6110"}, cost_centers={"CC-200": "200-7"}),
        payment(),
    )
    assert isinstance(command, RecordSupplierPayment)
    assert command.company_id == COMPANY
    assert command.supplier_number == "70012"
    assert (command.document_type, command.invoice_ref_nbr) == ("Invoice", "000123")
    assert command.payment_reference == "airbase:le-1"
    assert command.reply_to == "airbase"
    assert (command.source_system, command.source_id, command.source_version) == (
        "airbase", "le-1", "v1",
    )  # fmt: skip
    assert (command.currency_id, command.amount, command.payment_date) == (
        "SEK", Decimal("1250.00"), date(2026, 12, 2),
    )  # fmt: skip
    assert command.allocations == [
        SupplierPaymentAllocation(
            amount=Decimal("1000.00"), account_number="4011", subaccount="200-7",
            description="line 1",
        ),
        SupplierPaymentAllocation(
            amount=Decimal("250.00"), account_number="6110", subaccount=None,
            description="line 2",
        ),
    ]  # fmt: skip
    assert command.entity_type == "supplierPayment"
    assert command.entity_id == f"{TENANT}/{COMPANY}/supplierPayment/airbase:le-1"
    assert command.key == f"{TENANT}/{COMPANY}/supplierInvoice/000123"
    assert command.created_at == T0


def test_the_command_id_is_stable_for_a_version_and_new_for_a_changed_entry() -> None:
    cfg = config()
    first = payment_command(cfg, payment())
    again = payment_command(cfg, payment(via="webhook", observed_at=T0.replace(hour=9)))
    changed = payment_command(cfg, payment(version="v2"))
    assert isinstance(first, RecordSupplierPayment)
    assert isinstance(again, RecordSupplierPayment)
    assert isinstance(changed, RecordSupplierPayment)
    assert first.command_id == again.command_id
    assert first.command_id != changed.command_id
    # Pinned to the documented derivation: a change of it would send every payment again
    # after an upgrade (a new id the writer's ledger has not seen).
    documented = hashlib.sha256(b"tenant-se-1|1234567|airbase-payment|le-1|v1").hexdigest()
    assert first.command_id == documented
    assert command_id(tenant_id=TENANT, company_id=COMPANY, entry_id="le-1", version="v1") == (
        documented
    )


def test_the_bill_ref_is_read_with_or_without_its_document_type() -> None:
    assert paid_invoice("000123") == ("Invoice", "000123")
    assert paid_invoice(" Invoice:000123 ") == ("Invoice", "000123")
    assert paid_invoice("DebitNote:000124") == ("DebitNote", "000124")
    assert paid_invoice("Invoice:") == ("Invoice", "")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"lines": [line(1, "1000.00", "4010", "CC-999"), line(2, "250.00", "6110", None)]},
            "line 1: cost center 'CC-999' is not mapped",
        ),
        (
            {"lines": [line(1, "1000.00", "4010", "CC-100"), line(2, "250.00", "7777", None)]},
            "line 2: GL account '7777' is not mapped",
        ),
        ({"lines": [line(1, "1250.00", None, "CC-100")]}, "line 1 has no GL account"),
        ({"lines": []}, "no allocation lines: nothing names its GL account"),
        (
            {"lines": [line(1, "1000.00", "4010", "CC-100")]},
            "the lines add up to 1000.00, the payment is 1250.00",
        ),
        ({"vendor_ref": None}, "its vendor has no Visma supplier number"),
        ({"bill_ref": None}, "it pays bill bill-7 with no Visma supplier invoice"),
        ({"bill_ref": None, "bill_id": None}, "it pays no bill with no Visma supplier invoice"),
        (
            {"company_id": "999"},
            "the poller read it for Visma company '999', the mapping file says '1234567'",
        ),
    ],
)
def test_an_unmappable_payment_says_why(changes: dict[str, object], reason: str) -> None:
    result = payment_command(config(), payment(**changes))
    assert isinstance(result, Unmappable)
    assert result.reason.startswith("payment le-1 (1250.00 SEK to Nordisk Papir AB): ")
    assert reason in result.reason


def test_every_problem_is_named_and_nothing_falls_back_to_a_default_account() -> None:
    result = payment_command(
        config(accounts={}, cost_centers={}),
        payment(lines=[line(1, "1000.00", "4010", "CC-200"), line(2, "250.00", "6110", None)]),
    )
    assert isinstance(result, Unmappable)
    assert result.reason.endswith(
        "line 1: GL account '4010' is not mapped; line 1: cost center 'CC-200' is not mapped; "
        "line 2: GL account '6110' is not mapped"
    )


def test_a_tenant_may_require_a_cost_center_on_every_line() -> None:
    result = payment_command(config(cost_center_required=True), payment())
    assert isinstance(result, Unmappable)
    assert "line 2 has no cost center (the tenant requires one)" in result.reason


def test_the_entry_type_is_the_pollers_choice() -> None:
    # The poller publishes the entry types its `payment_types` names; one of another type
    # that pays a bill is booked like a bill payment.
    command = payment_command(config(), payment(entry_type="payment"))
    assert isinstance(command, RecordSupplierPayment)


def test_a_tenant_missing_from_the_file_holds_its_payments() -> None:
    result = payment_command(config(), payment(tenant_id="tenant-no-1"))
    assert result == Unmappable(
        "payment le-1: tenant 'tenant-no-1' is not in the payments mapping file"
    )
