"""Visma wire payloads, parsed strictly enough to trust and loosely enough to survive.

These mirror the JSON the API sends (camelCase, extra fields ignored). Services map
them into their own domain types; they are not domain models. Money is `Decimal`
(never float) and Visma's naive timestamps are read as UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = [
    "Amount",
    "Code",
    "ContactDto",
    "Page",
    "PartyRefDto",
    "PaymentMethodRefDto",
    "RejectedRecord",
    "SupplierInvoiceDto",
    "SupplierInvoiceLineDto",
    "SupplierInvoicePage",
    "SupplierRefDto",
    "VismaMetadataDto",
    "VismaModel",
    "VismaRecordDto",
]


def _exact_decimal(value: Any) -> Any:
    # A float has already lost the decimal digits; its shortest repr is the best guess.
    if isinstance(value, float):
        return str(value)
    return value


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _date_part(value: Any) -> Any:
    # Visma sends business dates as midnight datetimes ("2026-01-15T00:00:00").
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        return value[:10]
    if isinstance(value, datetime):
        return value.date()
    return value


def _code_text(value: Any) -> Any:
    # Codes and numbers are strings, but some routes send numeric ones as JSON numbers.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Amount = Annotated[Decimal, BeforeValidator(_exact_decimal)]
Code = Annotated[str, BeforeValidator(_code_text)]
UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
VismaDate = Annotated[date, BeforeValidator(_date_part)]


class VismaModel(BaseModel):
    """Base for read DTOs: camelCase on the wire, unknown fields ignored, immutable."""

    model_config = ConfigDict(
        extra="ignore",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        frozen=True,
    )


class VismaMetadataDto(VismaModel):
    total_count: int | None = None
    max_page_size: int | None = None


class VismaRecordDto(VismaModel):
    """Base for list items: what every Visma record carries besides its own fields."""

    last_modified_date_time: UtcDateTime | None = None
    created_date_time: UtcDateTime | None = None
    time_stamp: str | None = None
    metadata: VismaMetadataDto | None = None


class SupplierRefDto(VismaModel):
    internal_id: int | None = None
    number: str | None = None
    name: str | None = None


class PartyRefDto(VismaModel):
    """A supplier or customer named on a document."""

    internal_id: int | None = None
    number: Code | None = None
    name: str | None = None


class ContactDto(VismaModel):
    email: str | None = None
    phone1: str | None = None


class PaymentMethodRefDto(VismaModel):
    id: Code | None = None
    description: str | None = None


class SubaccountRefDto(VismaModel):
    """A line's subaccount (the cost center), read as `{"id": ...}` (assumed)."""

    id: Code | None = None


class SupplierInvoiceLineDto(VismaModel):
    line_number: int | None = None
    transaction_description: str | None = None
    quantity: Amount | None = None
    unit_cost_in_currency: Amount | None = None
    amount: Amount | None = None
    account_number: str | None = None
    subaccount: SubaccountRefDto | None = None
    po_number: str | None = None


class SupplierInvoiceDto(VismaRecordDto):
    """`GET /v1/supplierInvoice` item."""

    document_type: str | None = None
    reference_number: str
    status: str | None = None
    approval_status: str | None = None
    supplier: SupplierRefDto | None = None
    date: VismaDate | None = None
    due_date: VismaDate | None = None
    currency_id: str | None = None
    amount: Amount | None = None
    vat_amount: Amount | None = None
    balance: Amount | None = None
    supplier_reference: str | None = None
    description: str | None = None
    note: str | None = None
    invoice_lines: list[SupplierInvoiceLineDto] = []

    @property
    def po_reference(self) -> str | None:
        """The purchase order this invoice bills, taken from the first line that names one."""
        for line in self.invoice_lines:
            if line.po_number and line.po_number.strip():
                return line.po_number.strip()
        return None


ModelT = TypeVar("ModelT", bound=VismaModel)


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """One list item that does not match its model: Visma's JSON as sent, and why."""

    raw: str
    reason: str


@dataclass(frozen=True, slots=True)
class Page(Generic[ModelT]):
    """One page of a Visma list endpoint, with the server's clock for cursor safety.

    `sources` holds the JSON object each of `items` was parsed from (same order), so a
    record that a caller cannot use can still be kept as Visma sent it; `rejected` holds
    the items that did not parse at all. One bad record never costs the rest of its page.
    """

    items: list[ModelT]
    page_number: int
    total_count: int | None
    server_date: datetime | None
    sources: tuple[Any, ...] = ()
    rejected: tuple[RejectedRecord, ...] = ()


SupplierInvoicePage = Page[SupplierInvoiceDto]
