"""Seed data for purchasing: purchase orders, purchase receipts and supplier payments.

Purchase orders include every PO number the seeded supplier invoices reference, with the
same supplier and lines, so a connector can follow an invoice back to its order; extra
orders fill up to the configured count. Receipts and payments point at those orders and
invoices.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.nordic import SeedContext
from sandbox.visma.entities import SPECS_BY_NAME
from sandbox.visma.records import date_value, money

ITEMS = ("Stålbalk", "Pallar", "Kontorsstol", "Servrar", "Konsulttimmar", "Emballage", "Kabel")
PAYMENT_METHODS = {"SE": "BG", "NO": "BANK", "DK": "BANK", "FI": "SEPA"}


def _day(value: object) -> date:
    return date.fromisoformat(str(value)[:10])


def _party(fields: dict[str, Any]) -> dict[str, Any]:
    return {"number": fields["number"], "name": fields["name"]}


def referenced_orders(ctx: SeedContext) -> list[tuple[str, dict[str, Any]]]:
    """(PO number, the first invoice that references it) in invoice order."""
    found: dict[str, dict[str, Any]] = {}
    for invoice in ctx.refs("supplierInvoice"):
        for line in invoice["invoiceLines"]:
            po = line.get("poNumber")
            if po and po not in found:
                found[po] = invoice
    return list(found.items())


def _order_from_invoice(rng: random.Random, po: str, invoice: dict[str, Any]) -> dict[str, Any]:
    lines = [
        {
            "lineNbr": line["lineNumber"],
            "inventoryNumber": f"ART-{rng.randint(1000, 9999)}",
            "lineDescription": line["transactionDescription"],
            "orderQty": line["quantity"],
            "unitCost": line["unitCostInCurrency"],
            "amount": line["amount"],
        }
        for line in invoice["invoiceLines"]
        if line.get("poNumber") == po
    ]
    day = _day(invoice["date"]) - timedelta(days=rng.randint(3, 20))
    supplier = invoice["supplier"]
    return {
        "orderType": "RegularOrder",
        "orderNbr": po,
        "status": rng.choice(("Open", "Open", "Closed", "Completed")),
        "date": date_value(day),
        "promisedOn": date_value(day + timedelta(days=rng.randint(2, 14))),
        "supplier": {"number": supplier["number"], "name": supplier["name"]},
        "currencyId": invoice["currencyId"],
        "orderTotal": float(money(sum(Decimal(str(line["amount"])) for line in lines))),
        "lines": lines,
    }


def _fresh_order(
    rng: random.Random, supplier: dict[str, Any], number: str, created: datetime
) -> dict[str, Any]:
    lines = []
    for n in range(1, rng.randint(1, 3) + 1):
        qty = rng.choice((1, 2, 5, 10, 25))
        cost = money(rng.uniform(80, 12_000))
        lines.append(
            {
                "lineNbr": n,
                "inventoryNumber": f"ART-{rng.randint(1000, 9999)}",
                "lineDescription": rng.choice(ITEMS),
                "orderQty": float(qty),
                "unitCost": float(cost),
                "amount": float(cost * qty),
            }
        )
    return {
        "orderType": "RegularOrder",
        "orderNbr": number,
        "status": rng.choice(("Open", "Pending approval", "On Hold", "Open")),
        "date": date_value(created.date()),
        "promisedOn": date_value(created.date() + timedelta(days=rng.randint(5, 30))),
        "supplier": _party(supplier),
        "currencyId": supplier["currencyId"],
        "orderTotal": float(money(sum(Decimal(str(line["amount"])) for line in lines))),
        "lines": lines,
    }


def make_purchase_orders(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    suppliers = ctx.refs("supplier")
    referenced = referenced_orders(ctx) if ctx.seeding else []
    records = [_order_from_invoice(ctx.rng, po, inv) for po, inv in referenced[: len(times)]]
    spec = SPECS_BY_NAME["purchaseOrder"]
    for n, (created, _) in enumerate(times[len(records) :], start=first):
        if suppliers:
            supplier = ctx.rng.choice(suppliers)
            records.append(_fresh_order(ctx.rng, supplier, spec.number(n), created))
    return records


def make_purchase_receipts(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    orders = ctx.refs("purchaseOrder")
    spec = SPECS_BY_NAME["purchaseReceipt"]
    records = []
    for n, (created, _) in enumerate(times, start=first):
        if not orders:
            break
        order = ctx.rng.choice(orders)
        lines = [
            {
                "lineNbr": i,
                "poOrderNbr": order["orderNbr"],
                "inventoryNumber": line["inventoryNumber"],
                "receiptQty": line["orderQty"],
            }
            for i, line in enumerate(order["lines"], start=1)
        ]
        records.append(
            {
                "receiptType": "PoReceipt",
                "receiptNbr": spec.number(n),
                "status": ctx.rng.choice(("Released", "Released", "Balanced", "On Hold")),
                "date": date_value(created.date()),
                "supplier": dict(order["supplier"]),
                "currencyId": order["currencyId"],
                "totalQty": float(sum(Decimal(str(line["receiptQty"])) for line in lines)),
                "totalAmount": order["orderTotal"],
                "lines": lines,
            }
        )
    return records


def make_supplier_payments(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    invoices = ctx.refs("supplierInvoice")
    suppliers = ctx.refs("supplier")
    spec = SPECS_BY_NAME["supplierPayment"]
    method = PAYMENT_METHODS.get(ctx.country, "BANK")
    records = []
    for n, (created, _) in enumerate(times, start=first):
        if invoices:
            invoice = ctx.rng.choice(invoices)
            party, currency, amount = invoice["supplier"], invoice["currencyId"], invoice["amount"]
        elif suppliers:
            supplier = ctx.rng.choice(suppliers)
            party, currency = supplier, supplier["currencyId"]
            amount = float(money(ctx.rng.uniform(500, 50_000)))
        else:
            break
        records.append(
            {
                "type": "Payment",
                "refNbr": spec.number(n),
                "status": ctx.rng.choice(("Released", "Closed", "Open", "Balanced")),
                "supplier": _party(party),
                "paymentMethod": {"id": method},
                "applicationDate": date_value(created.date()),
                "currency": currency,
                "paymentAmount": amount,
            }
        )
    return records
