"""What a SupplierUpdateDto or SupplierInvoiceUpdateDto asks of a record, as the sandbox
applies it on create (`POST`) and update (`PUT`).

Write DTOs wrap every scalar as ``{"value": ...}`` (API_FACTS section 1); an invoice line's
``operation`` is a plain string, ``Insert``, ``Update`` (by ``lineNumber``) or ``Delete``.
Fields the sandbox does not model are refused with a `WriteRefused` (400) rather than
silently dropped. Assumptions (nested ``mainAddress``/``mainContact`` wrapped as a whole, a
line's ``subaccount`` read back as ``{"id": ...}``) are listed in docs/visma-entities.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.visma.records import money
from sandbox.visma.store import EntityStore


class WriteRefused(ValueError):
    """The DTO asks for something Visma would refuse (answered 400)."""


_SUPPLIER_SCALARS = {
    "number": "number",
    "name": "name",
    "status": "status",
    "currencyId": "currencyId",
    "vatRegistrationId": "vatRegistrationId",
    "corporateId": "corporateId",
    "note": "note",
}
_ADDRESS_FIELDS = ("addressLine1", "addressLine2", "postalCode", "city", "countryId")
_CONTACT_FIELDS = ("email", "phone1")
_INVOICE_SCALARS = ("supplierReference", "description", "currencyId", "note")
_INVOICE_FIELDS = {
    *_INVOICE_SCALARS, "documentType", "supplierNumber", "date", "dueDate", "amount",
    "invoiceLines", "hold",
}  # fmt: skip


def unwrap(body: Mapping[str, Any], name: str) -> Any:
    wrapped = body[name]
    if not isinstance(wrapped, dict) or "value" not in wrapped:
        raise WriteRefused(f'{name} must be given as {{"value": ...}}')
    return wrapped["value"]


def _object(body: object, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise WriteRefused(f"The body must be a {what} object.")
    return body


def _refuse_unknown(body: Mapping[str, Any], known: set[str] | frozenset[str]) -> None:
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise WriteRefused(f"Fields not supported by the sandbox: {', '.join(unknown)}.")


def _nested(body: Mapping[str, Any], name: str, fields: tuple[str, ...]) -> dict[str, Any]:
    inner = _object(unwrap(body, name), name)
    _refuse_unknown(inner, set(fields))
    return {field: unwrap(inner, field) for field in fields if field in inner}


def supplier_updates(body: object) -> dict[str, Any]:
    """The supplier fields a SupplierUpdateDto sets."""
    dto = _object(body, "SupplierUpdateDto")
    _refuse_unknown(dto, {*_SUPPLIER_SCALARS, "mainAddress", "mainContact"})
    updates = {wire: unwrap(dto, name) for name, wire in _SUPPLIER_SCALARS.items() if name in dto}
    if "mainAddress" in dto:
        updates["mainAddress"] = _nested(dto, "mainAddress", _ADDRESS_FIELDS)
    if "mainContact" in dto:
        updates["mainContact"] = _nested(dto, "mainContact", _CONTACT_FIELDS)
    if "name" in updates and not str(updates["name"] or "").strip():
        raise WriteRefused("A supplier needs a name.")
    return updates


def _decimal(value: object, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise WriteRefused(f"{name} is not a number: {value!r}") from exc


def _date(value: object, name: str) -> str:
    text = str(value)
    if len(text) < 10 or text[4] != "-" or text[7] != "-":
        raise WriteRefused(f"{name} is not a date: {value!r}")
    return text[:10] + "T00:00:00"


def _line_fields(line: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "transactionDescription" in line:
        fields["transactionDescription"] = str(unwrap(line, "transactionDescription"))
    if "quantity" in line:
        fields["quantity"] = float(_decimal(unwrap(line, "quantity"), "quantity"))
    if "unitCostInCurrency" in line:
        cost = _decimal(unwrap(line, "unitCostInCurrency"), "unitCostInCurrency")
        fields["unitCostInCurrency"] = float(money(cost))
    if "accountNumber" in line:
        fields["accountNumber"] = str(unwrap(line, "accountNumber"))
    if "subaccount" in line:
        sub = unwrap(line, "subaccount")
        fields["subaccount"] = None if sub is None else {"id": str(sub)}
    return fields


_LINE_KNOWN = {
    "operation", "lineNumber", "transactionDescription", "quantity", "unitCostInCurrency",
    "accountNumber", "subaccount",
}  # fmt: skip


def apply_lines(existing: list[dict[str, Any]], lines: object) -> list[dict[str, Any]]:
    """The invoice's lines after the DTO's line operations, amounts recomputed."""
    if not isinstance(lines, list):
        raise WriteRefused("invoiceLines must be a list.")
    result = [dict(line) for line in existing]
    for raw in lines:
        line = _object(raw, "invoice line")
        _refuse_unknown(line, _LINE_KNOWN)
        operation = line.get("operation", "Insert")
        if operation == "Insert":
            number = max((int(x["lineNumber"]) for x in result), default=0) + 1
            new = {
                "lineNumber": number, "transactionDescription": "", "quantity": 1.0,
                "unitCostInCurrency": 0.0, "accountNumber": None, "subaccount": None,
            }  # fmt: skip
            result.append(new | _line_fields(line))
            continue
        if operation not in {"Update", "Delete"}:
            raise WriteRefused(f"Unknown line operation {operation!r}.")
        number = int(unwrap(line, "lineNumber"))
        found = [x for x in result if int(x["lineNumber"]) == number]
        if not found:
            raise WriteRefused(f"No invoice line {number}.")
        if operation == "Delete":
            result.remove(found[0])
        else:
            found[0].update(_line_fields(line))
    for line in result:
        amount = Decimal(str(line["quantity"])) * Decimal(str(line["unitCostInCurrency"]))
        line["amount"] = float(money(amount))
    return result


def invoice_updates(body: object, *, existing_lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The invoice fields a SupplierInvoiceUpdateDto sets, `supplierNumber` left raw for the
    caller to resolve; ``amount`` must agree with the lines when both are given."""
    dto = _object(body, "SupplierInvoiceUpdateDto")
    _refuse_unknown(dto, _INVOICE_FIELDS)
    updates: dict[str, Any] = {
        name: str(unwrap(dto, name)) for name in _INVOICE_SCALARS if name in dto
    }
    if "documentType" in dto:
        updates["documentType"] = str(unwrap(dto, "documentType"))
    if "supplierNumber" in dto:
        updates["supplierNumber"] = str(unwrap(dto, "supplierNumber"))
    for name in ("date", "dueDate"):
        if name in dto:
            updates[name] = _date(unwrap(dto, name), name)
    if "hold" in dto:
        updates["hold"] = bool(unwrap(dto, "hold"))
    lines = existing_lines
    if "invoiceLines" in dto:
        lines = apply_lines(existing_lines, dto["invoiceLines"])
        updates["invoiceLines"] = lines
    total = money(sum((Decimal(str(x["amount"])) for x in lines), Decimal(0)))
    if "amount" in dto:
        amount = money(_decimal(unwrap(dto, "amount"), "amount"))
        if lines and amount != total:
            raise WriteRefused(f"amount {amount} does not equal the lines' total {total}.")
        updates["amount"] = float(amount)
    elif "invoiceLines" in dto:
        updates["amount"] = float(total)
    return updates


def supplier_ref(store: EntityStore, company: str, number: str) -> dict[str, Any]:
    """How an invoice names its supplier; WriteRefused when there is no such supplier."""
    supplier = store.get("supplier", company, number)
    if supplier is None:
        raise WriteRefused(f"Supplier {number} not found.")
    return {
        "internalId": supplier.fields.get("internalId"),
        "number": supplier.fields["number"],
        "name": supplier.fields.get("name"),
    }
