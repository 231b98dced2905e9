"""BILL v3's records as the client reads them: credentials, vendors, bills, subscriptions.

These are BILL's shapes (camelCase on the wire, snake_case here), not the connector's
domain: the poller turns them into canonical events. Fields BILL may add are kept
(``extra="allow"``) so nothing a mapping could need is dropped on the way, except on a
subscription, whose one-time ``securityKey`` must never ride along in a model.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

from chassis.as_read import KeptAsRead

__all__ = [
    "BillBill",
    "BillClassifications",
    "BillCredentials",
    "BillInvoice",
    "BillLineItem",
    "BillSubscription",
    "BillVendor",
]


class BillCredentials(BaseModel):
    """One BILL user's sign-in to one organization, with the app's devKey."""

    model_config = ConfigDict(frozen=True)

    username: str = Field(min_length=1)
    password: SecretStr
    dev_key: SecretStr
    organization_id: str = Field(min_length=1)


class _BillRecord(KeptAsRead):
    """A BILL record; `read` keeps BILL's JSON as sent (`raw`), what a canonical event is
    made of, so a poll and a webhook of one version make the same event."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True
    )

    id: str
    archived: bool = False
    created_time: AwareDatetime
    updated_time: AwareDatetime


class BillVendor(_BillRecord):
    name: str
    email: str | None = None
    tax_id: str | None = None
    account_number: str | None = None


class BillClassifications(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    chart_of_account_id: str | None = None
    department_id: str | None = None


class BillLineItem(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    amount: Decimal
    description: str | None = None
    classifications: BillClassifications = Field(default_factory=BillClassifications)


class BillInvoice(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    invoice_number: str
    invoice_date: date


class BillBill(_BillRecord):
    vendor_id: str
    vendor_name: str | None = None
    invoice: BillInvoice
    due_date: date
    amount: Decimal
    due_amount: Decimal | None = None
    payment_status: str | None = None
    approval_status: str | None = None
    bill_line_items: list[BillLineItem] = Field(default_factory=list)


class BillSubscription(BaseModel):
    """A webhook subscription; its securityKey is never part of it (see `BillClient`)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    id: str
    organization_id: str
    name: str
    enabled: bool
    events: tuple[str, ...]
    notification_url: str
    created_time: datetime | None = None
    updated_time: datetime | None = None
