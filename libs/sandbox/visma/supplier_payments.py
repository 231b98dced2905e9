"""Supplier payments as the sandbox applies them: what a payment write DTO asks, and what it
does to the invoices it pays.

A payment names its supplier, its amount and the documents it pays (`paymentLines`, each a
`documentType`, `refNbr` and `amountPaid`). Visma publishes `GET,POST /v1/supplierPayment`
and `GET /v1/supplierPayment/{paymentType}/{paymentNumber}` (API_FACTS section 1) but not
its write DTO, so the field names here are ASSUMED (docs/visma-entities.md): `paymentRef`,
`supplier`, `applicationDate`, `currency`, `paymentAmount`, `description` and the lines
follow the SupplierPaymentDto the public clients read; `allocations` (GL account and
subaccount, i.e. cost center, per share of the amount) is ours, as Visma has no public
field for it. Write DTOs wrap each scalar as `{"value": ...}`; a line's `operation` is a
plain string (`Insert`, `Update` or `Delete`, by document), as on invoice lines.

The sandbox's rules (assumed, as the ERP enforces them on release): a payment applies at
once (status `Released`); only an `Open` invoice of the payment's supplier can be paid and
never beyond its `balance`; the lines add up to `paymentAmount`, and so do the allocations
when given. A paid invoice's balance drops by what is paid and it is `Closed` at zero; an
update that pays less gives the difference back (a `Closed` invoice reopens).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.visma.records import money
from sandbox.visma.store import EntityStore, Record
from sandbox.visma.supplier_writes import WriteRefused, unwrap

PAYABLE = "Open"
_SCALARS = ("paymentRef", "description", "currency", "type")
_FIELDS = {
    *_SCALARS, "supplier", "applicationDate", "paymentAmount", "paymentMethod",
    "paymentLines", "allocations",
}  # fmt: skip
_LINE_FIELDS = {"operation", "documentType", "refNbr", "amountPaid"}
_ALLOCATION_FIELDS = {"amount", "accountNumber", "subaccount", "description"}


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WriteRefused(f"{what} must be an object.")
    return value


def _refuse_unknown(body: Mapping[str, Any], known: set[str], what: str) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise WriteRefused(f"{what} fields not supported by the sandbox: {', '.join(unknown)}.")


def _amount(value: object, name: str) -> Decimal:
    try:
        amount = money(Decimal(str(value)))
    except ArithmeticError as exc:
        raise WriteRefused(f"{name} is not a number: {value!r}") from exc
    if amount < 0:
        raise WriteRefused(f"{name} cannot be negative.")
    return amount


def _allocation(raw: object, number: int) -> dict[str, Any]:
    line = _object(raw, "An allocation")
    _refuse_unknown(line, _ALLOCATION_FIELDS, "Allocation")
    if "amount" not in line or "accountNumber" not in line:
        raise WriteRefused("An allocation needs amount and accountNumber.")
    sub = unwrap(line, "subaccount") if "subaccount" in line else None
    return {
        "lineNumber": number,
        "amount": float(_amount(unwrap(line, "amount"), "allocation amount")),
        "accountNumber": str(unwrap(line, "accountNumber")),
        "subaccount": None if sub is None else {"id": str(sub)},
        "description": str(unwrap(line, "description")) if "description" in line else None,
    }


def payment_updates(body: object) -> dict[str, Any]:
    """The payment fields the DTO sets; `supplier` left as the raw number and
    `paymentLines` as the raw operations, for the caller to resolve."""
    dto = _object(body, "The body")
    _refuse_unknown(dto, _FIELDS, "SupplierPayment")
    updates: dict[str, Any] = {name: str(unwrap(dto, name)) for name in _SCALARS if name in dto}
    if "supplier" in dto:
        updates["supplier"] = str(unwrap(dto, "supplier"))
    if "applicationDate" in dto:
        text = str(unwrap(dto, "applicationDate"))
        if len(text) < 10 or text[4] != "-" or text[7] != "-":
            raise WriteRefused(f"applicationDate is not a date: {text!r}")
        updates["applicationDate"] = text[:10] + "T00:00:00"
    if "paymentAmount" in dto:
        updates["paymentAmount"] = float(_amount(unwrap(dto, "paymentAmount"), "paymentAmount"))
    if "paymentMethod" in dto:
        updates["paymentMethod"] = {"id": str(unwrap(dto, "paymentMethod"))}
    if "allocations" in dto:
        raw = dto["allocations"]
        if not isinstance(raw, list):
            raise WriteRefused("allocations must be a list.")
        updates["allocations"] = [_allocation(x, n) for n, x in enumerate(raw, start=1)]
    if "paymentLines" in dto:
        updates["paymentLines"] = dto["paymentLines"]
    return updates


def _line_key(line: Mapping[str, Any]) -> tuple[str, str]:
    document_type = str(unwrap(line, "documentType")) if "documentType" in line else "Invoice"
    if "refNbr" not in line:
        raise WriteRefused("A payment line needs refNbr.")
    return document_type, str(unwrap(line, "refNbr"))


def apply_payment_lines(existing: list[dict[str, Any]], operations: object) -> list[dict[str, Any]]:
    """The payment's lines after the DTO's operations (by document)."""
    if not isinstance(operations, list):
        raise WriteRefused("paymentLines must be a list.")
    lines = {(str(x["documentType"]), str(x["refNbr"])): dict(x) for x in existing}
    for raw in operations:
        line = _object(raw, "A payment line")
        _refuse_unknown(line, _LINE_FIELDS, "Payment line")
        operation = line.get("operation", "Insert")
        key = _line_key(line)
        if operation == "Delete":
            if lines.pop(key, None) is None:
                raise WriteRefused(f"No payment line for {key[0]} {key[1]}.")
            continue
        if operation not in {"Insert", "Update"}:
            raise WriteRefused(f"Unknown line operation {operation!r}.")
        if (operation == "Insert") == (key in lines):
            verb = "already pays" if operation == "Insert" else "does not pay"
            raise WriteRefused(f"The payment {verb} {key[0]} {key[1]}.")
        if "amountPaid" not in line:
            raise WriteRefused("A payment line needs amountPaid.")
        amount = _amount(unwrap(line, "amountPaid"), "amountPaid")
        lines[key] = {"documentType": key[0], "refNbr": key[1], "amountPaid": float(amount)}
    return list(lines.values())


def check_totals(fields: Mapping[str, Any]) -> None:
    """The lines, and the allocations when there are any, add up to the payment's amount."""
    amount = money(Decimal(str(fields["paymentAmount"])))
    lines = fields["paymentLines"]
    if not lines:
        raise WriteRefused("A payment must pay at least one document.")
    paid = money(sum((Decimal(str(x["amountPaid"])) for x in lines), Decimal(0)))
    if paid != amount:
        raise WriteRefused(f"paymentAmount {amount} does not equal the lines' total {paid}.")
    allocations = fields.get("allocations") or []
    allocated = money(sum((Decimal(str(x["amount"])) for x in allocations), Decimal(0)))
    if allocations and allocated != amount:
        raise WriteRefused(f"paymentAmount {amount} does not equal the allocations' {allocated}.")


@dataclass(frozen=True)
class InvoiceChange:
    """What a payment write does to one paid invoice."""

    invoice: Record
    updates: dict[str, Any]


def _paid(lines: list[dict[str, Any]]) -> dict[tuple[str, str], Decimal]:
    return {
        (str(x["documentType"]), str(x["refNbr"])): money(Decimal(str(x["amountPaid"])))
        for x in lines
    }


def settle(
    store: EntityStore,
    company: str,
    *,
    supplier: str,
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
) -> list[InvoiceChange]:
    """The invoice changes that take a payment from paying `before` to paying `after`;
    WriteRefused (nothing changed) when an invoice cannot take them."""
    old, new = _paid(before), _paid(after)
    changes: list[InvoiceChange] = []
    for key in sorted(old.keys() | new.keys()):
        delta = new.get(key, Decimal(0)) - old.get(key, Decimal(0))
        if delta == 0:
            continue
        invoice = store.get("supplierInvoice", company, f"{key[0]}:{key[1]}")
        if invoice is None:
            raise WriteRefused(f"SupplierInvoice {key[0]} {key[1]} not found.")
        owner = (invoice.fields.get("supplier") or {}).get("number")
        if owner != supplier:
            raise WriteRefused(f"{key[0]} {key[1]} is an invoice of supplier {owner}.")
        balance = money(Decimal(str(invoice.fields.get("balance") or 0)))
        status = str(invoice.fields.get("status"))
        if delta > 0 and status != PAYABLE:
            raise WriteRefused(f"{key[0]} {key[1]} is {status}, not {PAYABLE}: it cannot be paid.")
        if delta > balance:
            raise WriteRefused(f"{key[0]} {key[1]} has a balance of {balance}, less than {delta}.")
        left = balance - delta
        updates: dict[str, Any] = {"balance": float(left)}
        if left == 0:
            updates["status"] = "Closed"
        elif status == "Closed":
            updates["status"] = PAYABLE
        changes.append(InvoiceChange(invoice, updates))
    return changes
