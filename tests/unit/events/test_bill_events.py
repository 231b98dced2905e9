"""The BILL facts: read from BILL v3's JSON (the sandbox's records), keyed by organization and
record, and a webhook and a poll of the same version name the same version."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from chassis.serde import AvroSerde, SchemaCatalog
from events.bill import (
    BILL_BILLS,
    BILL_VENDORS,
    BillBillChanged,
    BillVendorChanged,
    change_of_event_type,
    change_of_polled,
)
from events.topics import ALL
from sandbox.bill.records import BillRecords
from sandbox.clock import SandboxClock

pytestmark = pytest.mark.unit

ORG = "00801MLCTEST00000001"
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
RECEIVED = datetime(2026, 3, 2, 9, 31, tzinfo=UTC)


def records() -> tuple[BillRecords, SandboxClock]:
    clock = SandboxClock(speed=0, start=START)
    return BillRecords(clock, [ORG]), clock


def as_sent(record: dict[str, Any]) -> dict[str, Any]:
    """The record as a webhook body or a list answer carries it: through JSON."""
    parsed: dict[str, Any] = json.loads(json.dumps(record))
    return parsed


def vendor_record(store: BillRecords) -> dict[str, Any]:
    return store.create(
        ORG,
        "vendor",
        {
            "name": "Nordlys Kontor ApS",
            "taxId": "DK12345678",
            "email": "faktura@nordlys.example-dk.test",
            "address": {"line1": "Vestergade 1", "city": "Aarhus", "zipOrPostalCode": "8000",
                        "country": "DK"},
            "billCurrency": "DKK",
        },
    )  # fmt: skip


def bill_record(store: BillRecords, vendor_id: str) -> dict[str, Any]:
    lines = [
        {"amount": 0.1, "description": "Papir",
         "classifications": {"chartOfAccountId": "0ca01GL4000", "departmentId": "0de01CC10"}},
        {"amount": 0.2, "description": "Toner",
         "classifications": {"chartOfAccountId": "0ca01GL4010"}},
    ]  # fmt: skip
    return store.create(
        ORG,
        "bill",
        {
            "vendorId": vendor_id,
            "invoice": {"invoiceNumber": "F-10001", "invoiceDate": "2026-03-01"},
            "dueDate": "2026-03-31",
            "billLineItems": lines,
        },
    )


def bill_fact(record: dict[str, Any], **overrides: Any) -> BillBillChanged:
    arguments: dict[str, Any] = {
        "tenant_id": "tenant-dk-1",
        "organization_id": ORG,
        "change": "created",
        "source": "webhook",
        "received_at": RECEIVED,
        "event_id": "evt-1",
    }
    return BillBillChanged.from_bill(as_sent(record), **(arguments | overrides))


def test_a_vendor_is_read_from_bills_json() -> None:
    store, _ = records()
    vendor = vendor_record(store)

    fact = BillVendorChanged.from_bill(
        as_sent(vendor), tenant_id="tenant-dk-1", organization_id=ORG, change="created",
        source="poll", received_at=RECEIVED,
    )  # fmt: skip

    assert fact.key == f"{ORG}/{vendor['id']}"
    assert fact.updated_time == START
    assert (fact.name, fact.tax_id, fact.currency) == ("Nordlys Kontor ApS", "DK12345678", "DKK")
    assert fact.address is not None
    assert (fact.address.city, fact.address.postal_code) == ("Aarhus", "8000")
    assert fact.event_id is None


def test_a_bill_is_read_with_exact_amounts_and_its_lines_classifications() -> None:
    store, _ = records()
    vendor = vendor_record(store)

    fact = bill_fact(bill_record(store, vendor["id"]))

    # 0.1 + 0.2 is 0.30000000000000004 in binary floats: the fact keeps BILL's text.
    assert fact.amount == Decimal("0.3")
    assert [line.amount for line in fact.lines] == [Decimal("0.1"), Decimal("0.2")]
    assert [(line.chart_of_account_id, line.department_id) for line in fact.lines] == [
        ("0ca01GL4000", "0de01CC10"),
        ("0ca01GL4010", None),
    ]
    assert (fact.invoice_number, fact.invoice_date, fact.due_date) == (
        "F-10001", date(2026, 3, 1), date(2026, 3, 31),
    )  # fmt: skip
    assert fact.vendor_key == f"{ORG}/{vendor['id']}"
    assert fact.vendor_name == "Nordlys Kontor ApS"


def test_a_webhook_and_a_poll_of_the_same_version_are_the_same_version() -> None:
    store, clock = records()
    vendor = vendor_record(store)
    bill = bill_record(store, vendor["id"])
    by_webhook = bill_fact(bill, event_id="evt-1", source="webhook")
    by_poll = bill_fact(bill, event_id=None, source="poll", change=change_of_polled(bill))

    clock.advance(60)
    changed = store.change(ORG, "bill", bill["id"], {"dueDate": "2026-04-30"})
    next_version = bill_fact(changed, change="updated")

    assert by_webhook.version_id == by_poll.version_id
    assert by_webhook.key == by_poll.key == next_version.key
    assert next_version.version_id != by_webhook.version_id


def test_the_facts_round_trip_through_their_schemas() -> None:
    store, _ = records()
    vendor = vendor_record(store)
    serde = AvroSerde(SchemaCatalog.load())
    vendor_fact = BillVendorChanged.from_bill(
        as_sent(vendor), tenant_id="t", organization_id=ORG, change="created",
        source="webhook", received_at=RECEIVED, event_id="evt-9",
    )  # fmt: skip
    facts = [vendor_fact, bill_fact(bill_record(store, vendor["id"]))]

    for sent in facts:
        name, record = serde.decode(serde.encode(sent.SCHEMA, sent.to_record()))
        assert name == sent.SCHEMA
        assert type(sent).from_record(record) == sent


def test_the_topics_are_declared_with_the_same_partitioning() -> None:
    assert (BILL_VENDORS.name, BILL_BILLS.name) == ("bill.vendor.v1", "bill.bill.v1")
    assert BILL_VENDORS.partitions == BILL_BILLS.partitions
    assert {BILL_VENDORS, BILL_BILLS} <= set(ALL)


@pytest.mark.parametrize(
    ("event_type", "change"),
    [("vendor.created", "created"), ("bill.updated", "updated"), ("bill.archived", "archived"),
     ("vendor.restored", "restored")],
)  # fmt: skip
def test_the_change_of_an_event_type(event_type: str, change: str) -> None:
    assert change_of_event_type(event_type) == change


@pytest.mark.parametrize("event_type", ["payment.failed", "bill", "bill.deleted", ""])
def test_an_event_type_that_is_no_vendor_or_bill_change_is_refused(event_type: str) -> None:
    with pytest.raises(ValueError, match="not a vendor or bill change"):
        change_of_event_type(event_type)


def test_what_a_poll_tells_of_a_records_last_change() -> None:
    store, clock = records()
    vendor = vendor_record(store)
    created = change_of_polled(as_sent(vendor))
    clock.advance(1)
    updated = change_of_polled(as_sent(store.change(ORG, "vendor", vendor["id"], {"email": None})))
    clock.advance(1)
    archived = change_of_polled(as_sent(store.set_archived(ORG, "vendor", vendor["id"], True)))

    assert (created, updated, archived) == ("created", "updated", "archived")


@pytest.mark.parametrize(
    "broken",
    [
        {"id": None},
        {"updatedTime": "yesterday"},
        {"amount": "a lot"},
        {"amount": "NaN"},
        {"dueAmount": float("inf")},
        {"invoice": {}},
        {"billLineItems": ["not a line"]},
    ],
)
def test_a_malformed_bill_is_a_value_error(broken: dict[str, Any]) -> None:
    store, _ = records()
    bill = as_sent(bill_record(store, vendor_record(store)["id"]))

    with pytest.raises(ValueError, match=r"validation error|not an amount|a bill line"):
        bill_fact(bill | broken)
