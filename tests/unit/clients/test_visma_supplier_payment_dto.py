"""The supplier payment write DTO: scalars wrapped, allocations with GL account and cost
center, and on an update the paid documents updated in place, added or deleted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from visma_client import PaidDocument, PaymentAllocationWrite, SupplierPaymentWrite

pytestmark = pytest.mark.unit


def _write(*paid: PaidDocument) -> SupplierPaymentWrite:
    return SupplierPaymentWrite(
        supplier_number="50012",
        payment_reference="airbase:le_42",
        application_date=date(2026, 3, 2),
        currency_id="SEK",
        amount=Decimal("400.50"),
        paid=list(paid),
        allocations=[
            PaymentAllocationWrite(Decimal("300.50"), "6110", "100-20", "Paper"),
            PaymentAllocationWrite(Decimal("100"), "6120"),
        ],
        description="ml-connector [airbase entry le_42 v1]",
    )


def test_a_create_wraps_every_scalar_and_inserts_each_paid_document() -> None:
    body = _write(PaidDocument("Invoice", "000123", Decimal("400.50"))).dto()

    assert body["supplier"] == {"value": "50012"}
    assert body["paymentRef"] == {"value": "airbase:le_42"}
    assert body["applicationDate"] == {"value": "2026-03-02"}
    assert body["paymentAmount"] == {"value": 400.5}
    assert body["paymentLines"] == [
        {"operation": "Insert", "documentType": {"value": "Invoice"},
         "refNbr": {"value": "000123"}, "amountPaid": {"value": 400.5}}
    ]  # fmt: skip
    assert body["allocations"] == [
        {"amount": {"value": 300.5}, "accountNumber": {"value": "6110"},
         "subaccount": {"value": "100-20"}, "description": {"value": "Paper"}},
        {"amount": {"value": 100.0}, "accountNumber": {"value": "6120"}},
    ]  # fmt: skip


def test_an_update_changes_what_is_paid_in_place_and_deletes_what_no_longer_is() -> None:
    write = _write(
        PaidDocument("Invoice", "000123", Decimal("300.50")),
        PaidDocument("Invoice", "000124", Decimal("100")),
    )

    body = write.dto(already_paid=[("Invoice", "000123"), ("Invoice", "000099")])

    assert [(x["operation"], x["refNbr"]["value"]) for x in body["paymentLines"]] == [
        ("Update", "000123"), ("Insert", "000124"), ("Delete", "000099")
    ]  # fmt: skip
    assert "amountPaid" not in body["paymentLines"][2]
