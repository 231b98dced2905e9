"""What changed in a BILL organization: its vendors and its bills, as canonical facts.

Two facts, keyed by `<organization id>/<record id>` so every version of one record sits in
order on one partition:

- `BillVendorChanged` (`bill.vendor.v1`): a vendor was created, updated, archived or restored.
- `BillBillChanged` (`bill.bill.v1`): a bill was.

Both come from two paths: the ingress stores a verified webhook (`source="webhook"`, with
BILL's `metadata.eventId`), and the bill-poller's delta poll stores what it reads
(`source="poll"`), because BILL delivers a webhook once or retries it only a little. The same
version of a record therefore often arrives twice, once by each path. A version is named by
the record and its `updatedTime` (`version_id`), never by the path or the event id, so a
consumer that remembers the versions it applied applies each one once.

`from_bill` reads a record in BILL v3's JSON shape (a webhook's `vendor`/`bill` object, a
list's result), so both paths make the same fact of the same version.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Self

from chassis.topics import TopicSpec
from events._avro import AvroModel

BILL_PARTITIONS = 6
BILL_VENDORS = TopicSpec("bill.vendor.v1", partitions=BILL_PARTITIONS)
BILL_BILLS = TopicSpec("bill.bill.v1", partitions=BILL_PARTITIONS)

Change = Literal["created", "updated", "archived", "restored"]
CHANGES: tuple[Change, ...] = ("created", "updated", "archived", "restored")
ChangeSource = Literal["webhook", "poll"]
WEBHOOK: ChangeSource = "webhook"
POLL: ChangeSource = "poll"


def record_key(organization_id: str, record_id: str) -> str:
    """The key of every version of one vendor or bill."""
    return f"{organization_id}/{record_id}"


def change_of_event_type(event_type: str) -> Change:
    """`vendor.updated` -> `updated`; a type of another kind of change is a ValueError."""
    _, _, change = event_type.partition(".")
    if change not in CHANGES:
        raise ValueError(f"not a vendor or bill change: {event_type!r}")
    return change


def change_of_polled(record: Mapping[str, Any]) -> Change:
    """What a poll can tell of a record's last change: it sees the record, not the event.

    Archived is archived; a record never updated since its creation was created; anything
    else was updated (a restore reads as an update: the record is there and not archived).
    """
    if record.get("archived") is True:
        return "archived"
    if record.get("createdTime") and record.get("createdTime") == record.get("updatedTime"):
        return "created"
    return "updated"


class BillAddress(AvroModel):
    """A vendor's address as BILL keeps it (v3 `address`)."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class BillLine(AvroModel):
    """One line of a bill: the amount and where it is booked (BILL's classifications)."""

    amount: Decimal
    description: str | None = None
    chart_of_account_id: str | None = None
    """BILL's GL account id; the tenant's mapping names the Visma account it is."""
    department_id: str | None = None
    """BILL's department id; the tenant's mapping names the Visma cost center it is."""


class BillVendorChanged(AvroModel):
    SCHEMA = "io.mlconnector.bill.BillVendorChanged"

    tenant_id: str
    organization_id: str
    vendor_id: str
    change: str
    """created, updated, archived or restored (`Change`); a string so a new one is a value."""
    updated_time: datetime
    """BILL's `updatedTime` of this version: with the id, what names the version."""
    created_time: datetime | None = None
    source: str
    """`webhook` or `poll` (`ChangeSource`)."""
    event_id: str | None = None
    """BILL's `metadata.eventId` for a webhook; None for a poll."""
    archived: bool = False
    name: str
    short_name: str | None = None
    tax_id: str | None = None
    """BILL's `taxId`: the VAT or organisation number a vendor is matched to a supplier by."""
    account_number: str | None = None
    email: str | None = None
    phone: str | None = None
    address: BillAddress | None = None
    currency: str | None = None
    """The vendor's bill currency (v3 `billCurrency`, UNCONFIRMED); None: the org's own."""
    received_at: datetime

    @property
    def key(self) -> str:
        return record_key(self.organization_id, self.vendor_id)

    @property
    def version_id(self) -> str:
        """The same for a webhook and a poll of the same version of the vendor."""
        return _version_id(self.organization_id, self.vendor_id, self.updated_time)

    @classmethod
    def from_bill(
        cls,
        vendor: Mapping[str, Any],
        *,
        tenant_id: str,
        organization_id: str,
        change: Change,
        source: ChangeSource,
        received_at: datetime,
        event_id: str | None = None,
    ) -> Self:
        """The fact of a vendor in BILL v3's JSON shape; a malformed one is a ValueError."""
        return cls.model_validate(
            {
                "tenant_id": tenant_id,
                "organization_id": organization_id,
                "vendor_id": vendor.get("id"),
                "change": change,
                "updated_time": vendor.get("updatedTime"),
                "created_time": vendor.get("createdTime"),
                "source": source,
                "event_id": event_id,
                "archived": bool(vendor.get("archived", False)),
                "name": vendor.get("name"),
                "short_name": vendor.get("shortName"),
                "tax_id": vendor.get("taxId"),
                "account_number": vendor.get("accountNumber"),
                "email": vendor.get("email"),
                "phone": vendor.get("phone"),
                "address": _address(vendor.get("address")),
                "currency": vendor.get("billCurrency") or vendor.get("currency"),
                "received_at": received_at,
            }
        )


class BillBillChanged(AvroModel):
    SCHEMA = "io.mlconnector.bill.BillBillChanged"

    tenant_id: str
    organization_id: str
    bill_id: str
    change: str
    """created, updated, archived or restored (`Change`)."""
    updated_time: datetime
    created_time: datetime | None = None
    source: str
    """`webhook` or `poll` (`ChangeSource`)."""
    event_id: str | None = None
    archived: bool = False
    vendor_id: str
    vendor_name: str | None = None
    invoice_number: str
    """BILL's `invoice.invoiceNumber`: the supplier's invoice number, Visma's supplier reference."""
    invoice_date: date | None = None
    due_date: date | None = None
    amount: Decimal
    """The sum of the lines, as BILL computes it."""
    due_amount: Decimal | None = None
    currency: str | None = None
    """The bill's currency (v3 `billCurrency`, UNCONFIRMED); None: the organization's own."""
    payment_status: str | None = None
    approval_status: str | None = None
    lines: list[BillLine] = []
    received_at: datetime

    @property
    def key(self) -> str:
        return record_key(self.organization_id, self.bill_id)

    @property
    def vendor_key(self) -> str:
        """The key of the bill's vendor on `bill.vendor.v1`."""
        return record_key(self.organization_id, self.vendor_id)

    @property
    def version_id(self) -> str:
        """The same for a webhook and a poll of the same version of the bill."""
        return _version_id(self.organization_id, self.bill_id, self.updated_time)

    @classmethod
    def from_bill(
        cls,
        bill: Mapping[str, Any],
        *,
        tenant_id: str,
        organization_id: str,
        change: Change,
        source: ChangeSource,
        received_at: datetime,
        event_id: str | None = None,
    ) -> Self:
        """The fact of a bill in BILL v3's JSON shape; a malformed one is a ValueError."""
        invoice = bill.get("invoice")
        invoice = invoice if isinstance(invoice, Mapping) else {}
        lines = bill.get("billLineItems")
        return cls.model_validate(
            {
                "tenant_id": tenant_id,
                "organization_id": organization_id,
                "bill_id": bill.get("id"),
                "change": change,
                "updated_time": bill.get("updatedTime"),
                "created_time": bill.get("createdTime"),
                "source": source,
                "event_id": event_id,
                "archived": bool(bill.get("archived", False)),
                "vendor_id": bill.get("vendorId"),
                "vendor_name": bill.get("vendorName"),
                "invoice_number": invoice.get("invoiceNumber"),
                "invoice_date": invoice.get("invoiceDate"),
                "due_date": bill.get("dueDate"),
                "amount": _decimal(bill.get("amount")),
                "due_amount": _decimal(bill.get("dueAmount")),
                "currency": bill.get("billCurrency") or bill.get("currency"),
                "payment_status": bill.get("paymentStatus"),
                "approval_status": bill.get("approvalStatus"),
                "lines": [_line(line) for line in lines] if isinstance(lines, list) else [],
                "received_at": received_at,
            }
        )


def _version_id(organization_id: str, record_id: str, updated_time: datetime) -> str:
    # Milliseconds, as BILL stamps them and as the Avro timestamp keeps them.
    stamp = updated_time.isoformat(timespec="milliseconds")
    return f"{record_key(organization_id, record_id)}@{stamp}"


def _decimal(value: Any) -> Decimal | None:
    """BILL's JSON numbers as exact decimals (via their text, never a binary float's)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise ValueError("not an amount")
    return amount


def _address(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    return {
        "line1": value.get("line1"),
        "line2": value.get("line2"),
        "city": value.get("city"),
        "state": value.get("stateOrProvince") or value.get("state"),
        "postal_code": value.get("zipOrPostalCode") or value.get("postalCode"),
        "country": value.get("country"),
    }


def _line(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("a bill line is an object")
    classifications = value.get("classifications")
    classifications = classifications if isinstance(classifications, Mapping) else {}
    return {
        "amount": _decimal(value.get("amount")),
        "description": value.get("description"),
        "chart_of_account_id": classifications.get("chartOfAccountId"),
        "department_id": classifications.get("departmentId"),
    }
