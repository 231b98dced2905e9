"""Airbase's records as the client reads them, in the connector's field names.

These are Airbase's shapes, not the connector's domain: the sink and the poller map them.
Fields Airbase adds are ignored (``extra="ignore"``) and each record keeps the JSON it was
read from (`raw`, after the profile's renames back), so a digest of an entry is the same
whatever the profile. Amounts arrive as strings (``"123.45"``) and become exact `Decimal`.
Ids may be numbers or strings on the wire; they are strings here.

Public (tap-airbase's recorded answers): the vendor and ledger-entry fields. ASSUMED,
UNCONFIRMED: reference objects (accounts, subsidiaries, departments), bills and purchase
orders, in the shapes of docs/airbase-client.md.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from chassis.as_read import KeptAsRead

__all__ = [
    "AirbaseAccount",
    "AirbaseAmounts",
    "AirbaseAppliedTo",
    "AirbaseBill",
    "AirbaseBillLine",
    "AirbaseCurrency",
    "AirbaseDepartment",
    "AirbaseLedgerEntry",
    "AirbaseLedgerLine",
    "AirbaseMoney",
    "AirbasePurchaseOrder",
    "AirbasePurchaseOrderLine",
    "AirbaseRecord",
    "AirbaseRef",
    "AirbaseSubsidiary",
    "AirbaseTag",
    "AirbaseVendor",
    "RateLimit",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class AirbaseRef(_Part):
    """A reference to another record (`vendor`, `account`, `subsidiary`, `bank_account`)."""

    id: str | None = None
    airbase_id: str | None = None
    erp_reference_id: str | None = None
    name: str | None = None


class AirbaseCurrency(_Part):
    iso_code: str | None = None
    erp_reference_id: str | None = None


class AirbaseTag(_Part):
    """A line's tag; a cost center is ``{type: "department", erp_reference_id, name}``."""

    type: str | None = None
    erp_reference_id: str | None = None
    name: str | None = None


class AirbaseRecord(KeptAsRead, _Part):
    """What every top-level record has; `read` keeps the JSON it came from (`raw`)."""

    airbase_id: str
    erp_reference_id: str | None = None


class AirbaseVendor(AirbaseRecord):
    name: str
    erp_parent_reference_id: str | None = None
    is_active: bool = True
    email: str | None = None
    subsidiary_reference_ids: list[AirbaseRef] = Field(default_factory=list)


class _Reference(AirbaseRecord):
    """ERP-owned reference data, read-only in Airbase's UI (UNCONFIRMED shape)."""

    name: str
    is_active: bool = True


class AirbaseAccount(_Reference):
    """A GL account."""

    number: str | None = None


class AirbaseSubsidiary(_Reference):
    """A subsidiary (one Visma company)."""


class AirbaseDepartment(_Reference):
    """A department: the connector's cost center."""


class AirbaseBillLine(_Part):
    line_number: int
    amount: Decimal
    account: AirbaseRef | None = None
    description: str | None = None
    tags: list[AirbaseTag] = Field(default_factory=list)


class AirbaseBill(AirbaseRecord):
    """A bill (UNCONFIRMED shape); `status` is pending_approval, approved, rejected or paid."""

    vendor: AirbaseRef
    invoice_number: str | None = None
    currency: AirbaseCurrency | None = None
    total_amount: Decimal
    entry_date: date | None = None
    due_date: date | None = None
    status: str
    subsidiary: AirbaseRef | None = None
    expense_list: list[AirbaseBillLine] = Field(default_factory=list)
    updated_at: datetime | None = None


class AirbasePurchaseOrderLine(_Part):
    line_number: int
    description: str | None = None
    quantity: Decimal | None = None
    received_quantity: Decimal | None = None
    amount: Decimal
    account: AirbaseRef | None = None


class AirbasePurchaseOrder(AirbaseRecord):
    """A purchase order (UNCONFIRMED shape); `status` is open, received or closed."""

    vendor: AirbaseRef
    po_number: str | None = None
    currency: AirbaseCurrency | None = None
    total_amount: Decimal
    status: str
    line_items: list[AirbasePurchaseOrderLine] = Field(default_factory=list)
    updated_at: datetime | None = None


class AirbaseAppliedTo(_Part):
    """What a payment entry pays (``transaction_type: "bill"`` names the bill)."""

    id: str | None = None
    airbase_id: str | None = None
    transaction_type: str | None = None


class AirbaseLedgerLine(_Part):
    line_number: int
    amount: Decimal
    account: AirbaseRef | None = None
    description: str | None = None
    tags: list[AirbaseTag] = Field(default_factory=list)

    def department(self) -> AirbaseTag | None:
        """The line's cost center: its first ``department`` tag, if any."""
        return next((tag for tag in self.tags if tag.type == "department"), None)


class AirbaseMoney(_Part):
    amount: Decimal
    currency: str | None = None


class AirbaseAmounts(_Part):
    amount: AirbaseMoney | None = None
    transaction_amount: AirbaseMoney | None = None
    settlement_amount: AirbaseMoney | None = None
    subsidiary_amount: AirbaseMoney | None = None


class AirbaseLedgerEntry(AirbaseRecord):
    """An entry to sync to the ERP (tap-airbase's recorded shape); `erp_reference_id` is
    null until it is marked synced. A payment is ``type: "bill_payment"`` (UNCONFIRMED)."""

    id: str | None = None
    type: str
    status: str
    error_message: str | None = None
    vendor: AirbaseRef | None = None
    subsidiary: AirbaseRef | None = None
    invoice_number: str | None = None
    bank_account: AirbaseRef | None = None
    ap_account: AirbaseRef | None = None
    applied_to: list[AirbaseAppliedTo] | None = None
    entry_date: date | None = None
    payment_entry_date: date | None = None
    currency: AirbaseCurrency | None = None
    total_amount: Decimal
    notes: str | None = None
    expense_list: list[AirbaseLedgerLine] = Field(default_factory=list)
    amounts: AirbaseAmounts | None = None

    def bill_id(self) -> str | None:
        """The airbase_id of the bill this entry pays, from `applied_to`."""
        for target in self.applied_to or []:
            if target.transaction_type == "bill":
                return target.airbase_id or target.id
        return None


class RateLimit(BaseModel):
    """The last ``X-Ratelimit-Limit`` / ``X-Ratelimit-Remaining`` Airbase sent."""

    model_config = ConfigDict(frozen=True)

    limit: int | None = None
    remaining: int | None = None


def field_names() -> frozenset[str]:
    """Every field name of the models here: names a profile must not rename another onto."""
    models: tuple[type[BaseModel], ...] = (
        AirbaseRef,
        AirbaseCurrency,
        AirbaseTag,
        AirbaseVendor,
        AirbaseAccount,
        AirbaseBillLine,
        AirbaseBill,
        AirbasePurchaseOrderLine,
        AirbasePurchaseOrder,
        AirbaseAppliedTo,
        AirbaseLedgerLine,
        AirbaseMoney,
        AirbaseAmounts,
        AirbaseLedgerEntry,
    )
    return frozenset(name for model in models for name in model.model_fields)
