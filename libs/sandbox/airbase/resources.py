"""What each Airbase collection holds: its fields, what a create needs, how input is read.

Vendors (the recorded field set) and ledger entries (in ``sandbox.airbase.payments``) are
the live API's shapes; accounts, subsidiaries, departments, bills and purchase orders are
UNCONFIRMED shapes from the issue's contract. As in DRF, unknown input fields are ignored,
a missing required field answers ``{"<field>": ["This field is required."]}`` and amounts
are decimal strings (``"1234.50"``). A bill or purchase order names its vendor by
``vendor.erp_reference_id``, which must name an existing vendor (DRF's SlugRelatedField
message otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.airbase.errors import NOT_A_NUMBER, REQUIRED, field_errors


@dataclass(frozen=True)
class Resource:
    name: str
    fields: tuple[str, ...]
    """The exact field set of the answer, in order."""
    required: tuple[str, ...]
    writable: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...] = ()
    creatable: bool = True
    filters: tuple[str, ...] = ("erp_reference_id",)
    default_status: str | None = None
    """A list without ``?status=`` shows only this status (ledger entries: sync_ready)."""
    statuses: tuple[str, ...] = ()

    @property
    def allow_collection(self) -> str:
        return "GET, POST, HEAD, OPTIONS" if self.creatable else "GET, HEAD, OPTIONS"

    allow_item = "GET, PATCH, HEAD, OPTIONS"


REFERENCE = ("airbase_id", "erp_reference_id", "name", "is_active")
VENDOR_FIELDS = (
    "airbase_id",
    "erp_reference_id",
    "erp_parent_reference_id",
    "name",
    "is_active",
    "email",
    "subsidiary_reference_ids",
)
BILL_FIELDS = (
    "airbase_id",
    "erp_reference_id",
    "vendor",
    "invoice_number",
    "currency",
    "total_amount",
    "entry_date",
    "due_date",
    "status",
    "subsidiary",
    "expense_list",
    "updated_at",
)
PO_FIELDS = (
    "airbase_id",
    "erp_reference_id",
    "vendor",
    "po_number",
    "currency",
    "total_amount",
    "status",
    "line_items",
    "updated_at",
)
LEDGER_ENTRY_FIELDS = (
    "id",
    "airbase_id",
    "erp_reference_id",
    "erp_url",
    "url",
    "airbase_url",
    "type",
    "status",
    "error_message",
    "spend_owner",
    "subsidiary",
    "credit_mode",
    "vendor",
    "employee",
    "invoice_number",
    "bank_account",
    "ap_account",
    "applied_to",
    "receipt_link",
    "entry_date",
    "payment_entry_date",
    "currency",
    "total_amount",
    "transaction_tags",
    "notes",
    "is_amortized",
    "amortization_account",
    "amortization_start_date",
    "amortization_end_date",
    "expense_list",
    "amounts",
)
LINE_FIELDS = {
    "expense_list": ("line_number", "account", "amount", "description", "tags"),
    "line_items": (
        "line_number",
        "description",
        "quantity",
        "received_quantity",
        "amount",
        "account",
    ),
}
"""The exact field set of a bill's and an order's lines (UNCONFIRMED shapes)."""
BILL_STATUSES = ("pending_approval", "approved", "rejected", "paid")
PO_STATUSES = ("open", "received", "closed")
ENTRY_STATUSES = ("sync_ready", "synced", "sync_failed")


def _reference(name: str, *, extra: tuple[str, ...] = ()) -> Resource:
    fields = REFERENCE[:3] + extra + REFERENCE[3:]
    return Resource(
        name=name,
        fields=fields,
        required=("name",),
        writable=fields[1:],
        defaults=(("is_active", True), *((f, None) for f in extra)),
    )


RESOURCES: dict[str, Resource] = {
    "vendors": Resource(
        name="vendors",
        fields=VENDOR_FIELDS,
        required=("name",),
        writable=VENDOR_FIELDS[1:],
        defaults=(
            ("erp_parent_reference_id", None),
            ("is_active", True),
            ("email", None),
            ("subsidiary_reference_ids", []),
        ),
    ),
    "accounts": _reference("accounts", extra=("number",)),
    "subsidiaries": _reference("subsidiaries"),
    "departments": _reference("departments"),
    "bills": Resource(
        name="bills",
        fields=BILL_FIELDS,
        required=("vendor", "currency", "total_amount"),
        writable=tuple(f for f in BILL_FIELDS[1:] if f not in ("status", "updated_at")),
        defaults=(
            ("invoice_number", None),
            ("entry_date", None),
            ("due_date", None),
            ("status", "pending_approval"),
            ("subsidiary", None),
            ("expense_list", []),
        ),
        filters=("erp_reference_id", "status"),
        statuses=BILL_STATUSES,
    ),
    "purchase_orders": Resource(
        name="purchase_orders",
        fields=PO_FIELDS,
        required=("vendor", "currency", "total_amount"),
        writable=tuple(f for f in PO_FIELDS[1:] if f != "updated_at"),
        defaults=(("po_number", None), ("status", "open"), ("line_items", [])),
    ),
    "ledger_entries": Resource(
        name="ledger_entries",
        fields=LEDGER_ENTRY_FIELDS,
        required=(),
        writable=("status", "erp_reference_id", "error_message"),
        creatable=False,
        filters=("erp_reference_id", "status"),
        statuses=ENTRY_STATUSES,
        default_status="sync_ready",
    ),
}


def decimal_string(value: Any) -> str | None:
    """An amount as the API writes it (two decimals), or None when it is not a number."""
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return str(amount.quantize(Decimal("0.01")))


def read_input(resource: Resource, body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The writable fields of ``body`` checked and normalised, or a DRF 400."""
    errors: dict[str, Any] = {}
    if not partial:
        for field in resource.required:
            if body.get(field) is None:
                errors[field] = [REQUIRED]
    values = {k: v for k, v in body.items() if k in resource.writable}
    if "total_amount" in values:
        amount = decimal_string(values["total_amount"])
        if amount is None:
            errors["total_amount"] = [NOT_A_NUMBER]
        values["total_amount"] = amount
    for key, line_fields in LINE_FIELDS.items():
        if key in values:
            values[key], line_errors = _lines(values[key], line_fields)
            if line_errors:
                errors[key] = line_errors
    errors.update(_status_errors(resource, values.get("status")))
    if errors:
        raise field_errors(errors)
    return values


def _status_errors(resource: Resource, status: Any) -> dict[str, list[str]]:
    choices = {"bills": BILL_STATUSES, "purchase_orders": PO_STATUSES}.get(resource.name)
    if status is None or choices is None or status in choices:
        return {}
    return {"status": [f'"{status}" is not a valid choice.']}


def _lines(value: Any, fields: tuple[str, ...]) -> tuple[list[dict[str, Any]], list[Any]]:
    """Lines with exactly ``fields``, numbered from 1 unless numbered, amounts and
    quantities as decimal strings; errors per line as DRF's nested list serializer gives
    them (``{}`` for a good line)."""
    if not isinstance(value, list) or not all(isinstance(line, dict) for line in value):
        return [], [f'Expected a list of items but got type "{type(value).__name__}".']
    lines: list[dict[str, Any]] = []
    errors: list[dict[str, list[str]]] = []
    for number, line in enumerate(value, start=1):
        kept = {field: line.get(field) for field in fields}
        kept["line_number"] = line.get("line_number") or number
        if "tags" in kept:
            kept["tags"] = kept["tags"] or []
        line_errors: dict[str, list[str]] = {}
        for field in ("amount", "quantity", "received_quantity"):
            if field in kept and (field == "amount" or kept[field] is not None):
                kept[field] = decimal_string(kept[field])
                if kept[field] is None:
                    line_errors[field] = [NOT_A_NUMBER]
        errors.append(line_errors)
        lines.append(kept)
    return lines, errors if any(errors) else []
