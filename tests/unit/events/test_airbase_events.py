"""The Airbase facts: a payment ledger entry (the recorded shape) and its bill make one fact
whose version names its content, whichever path made the poller read it."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from chassis.serde import AvroSerde, SchemaCatalog
from events.airbase import (
    AIRBASE_PAYMENTS,
    AIRBASE_WEBHOOKS,
    AirbasePaymentReady,
    AirbaseWebhookReceived,
    paid_bill_id,
)
from events.topics import ALL

pytestmark = pytest.mark.unit

OBSERVED = datetime(2026, 3, 2, 9, 31, tzinfo=UTC)


def entry() -> dict[str, Any]:
    """A bill payment in the contract's ledger-entry shape (the recorded field set)."""
    return {
        "id": 9001,
        "airbase_id": 4242,
        "erp_reference_id": None,
        "erp_url": None,
        "url": "https://api.airbase.io/v1/accounting/ledger_entries/4242/",
        "airbase_url": "https://dashboard.airbase.io/ledger/4242",
        "type": "bill_payment",
        "status": "sync_ready",
        "error_message": None,
        "spend_owner": {"name": "Anna Ek", "email": "anna@example.se"},
        "subsidiary": {"erp_reference_id": "1", "name": "Nordisk Import AB"},
        "credit_mode": None,
        "vendor": {
            "id": 77,
            "airbase_id": 77,
            "name": "Kontorsvaror AB",
            "erp_reference_id": "70012",
            "created_in_platform": False,
            "created_in_airbase": False,
        },
        "employee": None,
        "invoice_number": "KV-118",
        "bank_account": {"erp_reference_id": "1930", "name": "Bank"},
        "ap_account": {"erp_reference_id": "2440", "name": "AP"},
        "applied_to": [{"id": 501, "airbase_id": 501, "transaction_type": "bill"}],
        "receipt_link": None,
        "entry_date": "2026-03-01",
        "payment_entry_date": "2026-03-02",
        "currency": {"erp_reference_id": "SEK", "iso_code": "SEK"},
        "total_amount": "1250.50",
        "transaction_tags": [],
        "notes": None,
        "is_amortized": False,
        "amortization_account": None,
        "amortization_start_date": None,
        "amortization_end_date": None,
        "expense_list": [
            {
                "line_number": 1,
                "receipt_link": None,
                "account": {"erp_reference_id": "4010", "name": "Office supplies"},
                "amount": "1000.50",
                "tags": [{"type": "department", "erp_reference_id": "CC-200", "name": "Sales"}],
                "description": "Paper",
                "amortization_start_date": None,
                "amortization_end_date": None,
            },
            {
                "line_number": 2,
                "receipt_link": None,
                "account": {"erp_reference_id": "4020", "name": "Freight"},
                "amount": "250",
                "tags": [],
                "description": None,
                "amortization_start_date": None,
                "amortization_end_date": None,
            },
        ],
        "amounts": {"amount": {"amount": "1250.50", "currency": "SEK"}},
    }


BILL = {"airbase_id": 501, "erp_reference_id": "Invoice:000123", "invoice_number": "KV-118"}


def fact(raw: dict[str, Any], bill: dict[str, Any] | None = BILL, **kw: Any) -> AirbasePaymentReady:
    options: dict[str, Any] = {"observed_at": OBSERVED, "via": "poll"} | kw
    return AirbasePaymentReady.from_airbase(
        raw, bill=bill, tenant_id="tenant-se-1", company_id="1234567", **options
    )


def test_a_payment_entry_and_its_bill_make_the_fact() -> None:
    payment = fact(entry())
    assert payment.key == "tenant-se-1/4242"
    assert (payment.entry_id, payment.entry_type) == ("4242", "bill_payment")
    assert (payment.vendor_ref, payment.vendor_name) == ("70012", "Kontorsvaror AB")
    assert (payment.bill_id, payment.bill_ref) == ("501", "Invoice:000123")
    assert (payment.invoice_number, payment.currency) == ("KV-118", "SEK")
    assert payment.amount == Decimal("1250.50")
    assert payment.payment_date == date(2026, 3, 2)
    assert payment.bank_account_ref == "1930"
    assert [(x.line_number, x.amount, x.account_ref, x.department_ref) for x in payment.lines] == [
        (1, Decimal("1000.50"), "4010", "CC-200"),
        (2, Decimal("250"), "4020", None),
    ]
    assert payment.event_id == f"tenant-se-1/4242@{payment.version}"
    assert payment.content_version() == payment.version


def test_the_version_is_the_same_for_the_same_content_whoever_read_it() -> None:
    by_poll = fact(entry())
    by_webhook = fact(entry(), via="webhook", observed_at=datetime(2026, 3, 3, tzinfo=UTC))
    assert by_webhook.version == by_poll.version
    assert by_webhook.event_id == by_poll.event_id
    same_amount = entry()
    same_amount["total_amount"] = "1250.5000"
    same_amount["expense_list"][1]["amount"] = "250.00"
    assert fact(same_amount).version == by_poll.version


@pytest.mark.parametrize(
    "change",
    [
        lambda e, b: e.update(total_amount="1250.51"),
        lambda e, b: e["expense_list"][0]["tags"][0].update(erp_reference_id="CC-300"),
        lambda e, b: e["expense_list"][1]["account"].update(erp_reference_id="4030"),
        lambda e, b: e["vendor"].update(erp_reference_id="70013"),
        lambda e, b: e.update(payment_entry_date="2026-03-03"),
        lambda e, b: b.update(erp_reference_id="Invoice:000124"),
    ],
    ids=["amount", "department", "account", "vendor", "date", "bill-ref"],
)
def test_a_changed_entry_or_bill_is_a_new_version(change: Any) -> None:
    raw, bill = entry(), copy.deepcopy(BILL)
    before = fact(raw, bill)
    change(raw, bill)
    after = fact(raw, bill)
    assert after.version != before.version
    assert after.event_id != before.event_id


def test_an_entry_without_a_bill_names_none() -> None:
    raw = entry()
    raw["applied_to"] = None
    assert paid_bill_id(raw) is None
    payment = fact(raw, None)
    assert (payment.bill_id, payment.bill_ref) == (None, None)
    assert payment.invoice_number == "KV-118"


@pytest.mark.parametrize(
    "broken",
    [
        lambda e: e.update(total_amount="12,50"),
        lambda e: e.update(total_amount=None),
        lambda e: e.update(currency=None, amounts=None),
        lambda e: e.update(payment_entry_date=None, entry_date=None),
        lambda e: e.update(expense_list=["not a line"]),
    ],
    ids=["amount-text", "no-amount", "no-currency", "no-date", "bad-line"],
)
def test_a_malformed_entry_is_a_value_error(broken: Any) -> None:
    raw = entry()
    broken(raw)
    with pytest.raises(ValueError, match=r"amount|currency|payment_date|line"):
        fact(raw)


def test_the_facts_round_trip_through_the_wire_format_and_their_topics_are_declared() -> None:
    serde = AvroSerde(SchemaCatalog.load())
    payment = fact(entry())
    _, record = serde.decode(serde.encode(payment.SCHEMA, payment.to_record()))
    assert AirbasePaymentReady.from_record(record) == payment
    assert AirbasePaymentReady.from_record(record).content_version() == payment.version
    nudge = AirbaseWebhookReceived(
        event_id="evt_1", tenant_id="tenant-se-1", event_type="bill_paid",
        object_type="ledger_entry", object_id="4242", signed=False, received_at=OBSERVED,
    )  # fmt: skip
    _, record = serde.decode(serde.encode(nudge.SCHEMA, nudge.to_record()))
    assert AirbaseWebhookReceived.from_record(record) == nudge
    assert nudge.key == "tenant-se-1"
    assert {AIRBASE_PAYMENTS, AIRBASE_WEBHOOKS} <= set(ALL)
