"""What each Visma record becomes in Airbase: plain functions from a SyncToAirbase command
to the objects to upsert, with no HTTP in sight.

    supplier         -> vendor           erp_reference_id = the supplier number
    supplierInvoice  -> bill             erp_reference_id = the invoice's reference number
                                         (document type Invoice only: Airbase pays bills);
                                         its vendor (from the invoice's supplier) and the
                                         tenant's subsidiary must exist first
    purchaseOrder    -> purchase order   erp_reference_id = the order number; needs its vendor
    purchaseReceipt  -> the orders it receives are marked received (never created by it)
    account          -> GL account       erp_reference_id = the account code
    dimension        -> department       erp_reference_id = the value id, for the tenant's
                                         cost-center dimensions (SUBACCOUNT by default)

A bill's lines are the invoice's, each with its GL account and its cost center as a
`department` tag (UNCONFIRMED shape, docs/airbase-sink.md): the payment Airbase makes of the
bill carries them back, and the Visma writer books it on that account and cost center. An
invoice without lines becomes one line of its whole amount.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from airbase_sink.tenants import AirbaseTenant
from chassis.errors import PermanentError
from events.commands import SyncToAirbase
from events.visma import SupplierInvoice
from events.visma_procurement import PurchaseOrder, PurchaseReceipt
from events.visma_reference import Account, Dimension, Supplier

__all__ = ["AirbaseWrite", "Translation", "UnusableRecordError", "translate"]

CENTS = Decimal("0.01")
BILLED_DOCUMENT = "Invoice"
CLOSED_ORDER = frozenset({"closed", "completed", "cancelled", "canceled"})
RELEASED_RECEIPT = frozenset({"released"})


class UnusableRecordError(PermanentError):
    """The command's record cannot become an Airbase object (say why)."""


@dataclass(frozen=True)
class AirbaseWrite:
    """One object to upsert by its ERP reference."""

    resource: str
    """The profile's collection name: vendors, bills, purchase_orders, accounts, ..."""
    erp_reference_id: str
    create: dict[str, Any] | None
    """The body of a create (erp_reference_id included); None: never created here."""
    update: dict[str, Any]
    """The fields a PATCH of an existing object sets (nothing Airbase owns, such as status)."""

    @property
    def target(self) -> str:
        """`resource/erp reference`: the ledger's destination of the write."""
        return f"{self.resource}/{self.erp_reference_id}"


@dataclass(frozen=True)
class Translation:
    writes: tuple[AirbaseWrite, ...] = ()
    needs: tuple[AirbaseWrite, ...] = ()
    """Objects that must exist before the writes (a bill's vendor): created if missing,
    never updated by this command (the vendor's own command updates it)."""
    skipped: str | None = None
    """Why nothing is written (a credit note, a project dimension)."""


def translate(command: SyncToAirbase, tenant: AirbaseTenant) -> Translation:
    """The objects `command`'s Visma record becomes in `tenant`'s Airbase account."""
    build = _BUILDERS.get(command.entity_type)
    if build is None:
        return Translation(skipped=f"Airbase has no place for a Visma {command.entity_type}")
    translation = build(command, tenant)
    return replace(
        translation,
        writes=tuple(_without_nulls(w) for w in translation.writes),
        needs=tuple(_without_nulls(w) for w in translation.needs),
    )


def _without_nulls(write: AirbaseWrite) -> AirbaseWrite:
    """Fields the record does not have are left out rather than sent as null."""
    create = None if write.create is None else {k: v for k, v in write.create.items()
                                                if v is not None}  # fmt: skip
    update = {k: v for k, v in write.update.items() if v is not None}
    return replace(write, create=create, update=update)


ModelT = TypeVar("ModelT", bound=BaseModel)


def _payload(command: SyncToAirbase, model: type[ModelT]) -> ModelT:
    try:
        return model.model_validate(json.loads(command.payload_json))
    except (ValueError, ValidationError) as exc:
        raise UnusableRecordError(
            f"{command.entity_type} {command.entity_id}: its payload is not a Visma "
            f"{model.__name__}: {exc}"
        ) from exc


def money(amount: Decimal) -> str:
    """Airbase's amount text ("1234.50"): two places unless the amount has more."""
    cents = amount.quantize(CENTS)
    return str(cents) if cents == amount else str(amount.normalize())


def vendor_of(number: str, name: str | None) -> AirbaseWrite:
    body = {"erp_reference_id": number, "name": name or number, "is_active": True}
    return AirbaseWrite("vendors", number, create=body, update={})


def subsidiary_of(tenant: AirbaseTenant) -> tuple[AirbaseWrite, ...]:
    if tenant.subsidiary is None:
        return ()
    ref = tenant.subsidiary
    body = {"erp_reference_id": ref, "name": ref, "is_active": True}
    return (AirbaseWrite("subsidiaries", ref, create=body, update={}),)


def _supplier(command: SyncToAirbase, tenant: AirbaseTenant) -> Translation:
    supplier = _payload(command, Supplier)
    fields: dict[str, Any] = {
        "name": supplier.name or supplier.number,
        "is_active": (supplier.status or "Active").casefold() != "inactive",
    }
    if supplier.email:
        fields["email"] = supplier.email
    create = {"erp_reference_id": supplier.number, **fields}
    return Translation(writes=(AirbaseWrite("vendors", supplier.number, create, fields),))


def _invoice(command: SyncToAirbase, tenant: AirbaseTenant) -> Translation:
    invoice = _payload(command, SupplierInvoice)
    if invoice.document_type != BILLED_DOCUMENT:
        return Translation(skipped=f"a Visma {invoice.document_type} is not a bill to approve")
    if not invoice.supplier_number:
        raise UnusableRecordError(
            f"supplier invoice {invoice.reference_number} names no supplier: a bill needs its "
            "vendor"
        )
    fields: dict[str, Any] = {
        "vendor": {"erp_reference_id": invoice.supplier_number},
        "invoice_number": invoice.supplier_reference or invoice.reference_number,
        "currency": {"iso_code": invoice.currency},
        "total_amount": money(invoice.amount),
        "entry_date": invoice.invoice_date.isoformat() if invoice.invoice_date else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "expense_list": _bill_lines(invoice),
    }
    if tenant.subsidiary is not None:
        fields["subsidiary"] = {"erp_reference_id": tenant.subsidiary}
    ref = invoice.reference_number
    bill = AirbaseWrite("bills", ref, {"erp_reference_id": ref, **fields}, fields)
    needs = (vendor_of(invoice.supplier_number, invoice.supplier_name), *subsidiary_of(tenant))
    return Translation(writes=(bill,), needs=needs)


def _bill_lines(invoice: SupplierInvoice) -> list[dict[str, Any]]:
    if not invoice.lines:
        whole: dict[str, Any] = {"line_number": 1, "amount": money(invoice.amount), "tags": []}
        if invoice.description:
            whole["description"] = invoice.description
        return [whole]
    lines = []
    amounts = _up_to_total([line.amount or Decimal(0) for line in invoice.lines], invoice.amount)
    for number, (line, amount) in enumerate(zip(invoice.lines, amounts, strict=True), start=1):
        entry: dict[str, Any] = {
            "line_number": line.line_number if line.line_number is not None else number,
            "amount": money(amount),
            "tags": [],
        }
        if line.description:
            entry["description"] = line.description
        if line.account_number:
            entry["account"] = {"erp_reference_id": line.account_number}
        if line.subaccount:
            entry["tags"] = [{"type": "department", "erp_reference_id": line.subaccount}]
        lines.append(entry)
    return lines


def _up_to_total(amounts: list[Decimal], total: Decimal) -> list[Decimal]:
    """Line amounts that add up to the bill's total: Visma's lines are net of VAT while the
    invoice's amount is what is paid, so each line takes its share of the difference (in
    cents, the last line the rounding). The payment of the bill is allocated by these lines,
    so it books the whole remittance on the lines' GL accounts and cost centers."""
    net = sum(amounts, Decimal(0))
    if net == total or net == 0:
        return amounts
    scaled = [(amount * total / net).quantize(CENTS) for amount in amounts[:-1]]
    return [*scaled, total - sum(scaled, Decimal(0))]


def _order(command: SyncToAirbase, tenant: AirbaseTenant) -> Translation:
    order = _payload(command, PurchaseOrder)
    if not order.supplier_number:
        raise UnusableRecordError(
            f"purchase order {order.order_number} names no supplier: an order needs its vendor"
        )
    closed = (order.status or "").casefold() in CLOSED_ORDER
    fields: dict[str, Any] = {
        "vendor": {"erp_reference_id": order.supplier_number},
        "po_number": order.order_number,
        "currency": {"iso_code": order.currency} if order.currency else None,
        "total_amount": money(order.order_total) if order.order_total is not None else None,
        "line_items": [
            {
                "line_number": line.line_number if line.line_number is not None else number,
                "description": line.description,
                "quantity": str(line.quantity) if line.quantity is not None else None,
                "amount": money(line.amount) if line.amount is not None else None,
            }
            for number, line in enumerate(order.lines, start=1)
        ],
    }
    if closed:
        fields["status"] = "closed"
    ref = order.order_number
    create = {"erp_reference_id": ref, "status": "closed" if closed else "open", **fields}
    needs = (vendor_of(order.supplier_number, order.supplier_name),)
    return Translation(writes=(AirbaseWrite("purchase_orders", ref, create, fields),),
                       needs=needs)  # fmt: skip


def _receipt(command: SyncToAirbase, tenant: AirbaseTenant) -> Translation:
    receipt = _payload(command, PurchaseReceipt)
    if receipt.status is not None and receipt.status.casefold() not in RELEASED_RECEIPT:
        return Translation(skipped=f"receipt {receipt.receipt_number} is {receipt.status}, "
                           "not released: its orders are not received yet")  # fmt: skip
    orders = sorted({line.po_order_number for line in receipt.lines if line.po_order_number})
    if not orders:
        return Translation(skipped=f"receipt {receipt.receipt_number} names no purchase order")
    received = {"status": "received"}
    return Translation(
        writes=tuple(AirbaseWrite("purchase_orders", o, None, received) for o in orders)
    )


def _account(command: SyncToAirbase, tenant: AirbaseTenant) -> Translation:
    account = _payload(command, Account)
    fields = {
        "name": account.description or account.account_code,
        "number": account.account_code,
        "is_active": account.active is not False,
    }
    create = {"erp_reference_id": account.account_code, **fields}
    return Translation(writes=(AirbaseWrite("accounts", account.account_code, create, fields),))


def _dimension(command: SyncToAirbase, tenant: AirbaseTenant) -> Translation:
    value = _payload(command, Dimension)
    if value.dimension_id not in tenant.cost_center_dimensions:
        return Translation(skipped=f"dimension {value.dimension_id} is not a cost center "
                           f"({', '.join(tenant.cost_center_dimensions)})")  # fmt: skip
    fields = {"name": value.description or value.value_id, "is_active": value.active is not False}
    create = {"erp_reference_id": value.value_id, **fields}
    return Translation(writes=(AirbaseWrite("departments", value.value_id, create, fields),))


_BUILDERS: Mapping[str, Callable[[SyncToAirbase, AirbaseTenant], Translation]] = {
    "supplier": _supplier,
    "supplierInvoice": _invoice,
    "purchaseOrder": _order,
    "purchaseReceipt": _receipt,
    "account": _account,
    "dimension": _dimension,
}
