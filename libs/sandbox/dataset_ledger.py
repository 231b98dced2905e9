"""Seed data for the general ledger and receivables, and employees' expense claims.

GL accounts follow the Swedish BAS chart (1930 bank, 2440 supplier debts, 4010 purchases,
6550 consultancy...), dimensions are cost centres (``CC100``...) and projects
(``P-2026-01``...), journal transactions balance debit against credit, and customer
invoices and payments reference the seeded customers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.dataset import COUNTRIES
from sandbox.nordic import SeedContext
from sandbox.visma.entities import SPECS_BY_NAME
from sandbox.visma.records import date_value, money

# (accountCd, description, type); accountGroup is the two-digit BAS class (assumed).
BAS_ACCOUNTS = (
    ("1510", "Kundfordringar", "Asset"),
    ("1930", "Företagskonto", "Asset"),
    ("2440", "Leverantörsskulder", "Liability"),
    ("2611", "Utgående moms 25 %", "Liability"),
    ("2640", "Ingående moms", "Asset"),
    ("3010", "Försäljning varor", "Income"),
    ("3040", "Försäljning tjänster", "Income"),
    ("4010", "Inköp material och varor", "Expense"),
    ("5010", "Lokalhyra", "Expense"),
    ("5060", "Städning och renhållning", "Expense"),
    ("5420", "Programvaror", "Expense"),
    ("5710", "Frakter och transporter", "Expense"),
    ("5800", "Resekostnader", "Expense"),
    ("6110", "Kontorsmateriel", "Expense"),
    ("6550", "Konsultarvoden", "Expense"),
    ("7010", "Löner till tjänstemän", "Expense"),
    ("8410", "Räntekostnader", "Expense"),
)
COST_CENTRES = ("Finance", "Purchasing", "IT", "Operations", "Sales", "Management", "R&D")
PROJECTS = ("ERP rollout", "Warehouse move", "Web shop", "Solar roof", "Fleet renewal")
EXPENSE_ITEMS = (
    ("TRAVEL", "Tågresa"),
    ("HOTEL", "Hotell"),
    ("MEALS", "Kundlunch"),
    ("MILEAGE", "Milersättning"),
    ("TAXI", "Taxi"),
)


def make_accounts(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    spec = SPECS_BY_NAME["account"]
    records = []
    for n in range(first, first + len(times)):
        if ctx.seeding and n <= len(BAS_ACCOUNTS):
            code, description, kind = BAS_ACCOUNTS[n - 1]
        else:
            code, description, kind = spec.number(n), f"Sandbox account {n}", "Expense"
        records.append(
            {
                "accountId": 10 + n,
                "accountCd": code,
                "description": description,
                "type": kind,
                "active": True,
                "accountGroup": f"BAS {code[:2]}",
            }
        )
    return records


def make_dimensions(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    """Cost centres and projects alternate, so any count has some of each."""
    spec = SPECS_BY_NAME["dimension"]
    records: list[dict[str, Any]] = []
    for n in range(first, first + len(times)):
        half = (n + 1) // 2
        if not ctx.seeding:
            value = ("SUBACCOUNT", "1", spec.number(n), f"Cost centre {n}")
        elif n % 2:
            label = COST_CENTRES[(half - 1) % len(COST_CENTRES)]
            value = ("SUBACCOUNT", "1", f"CC{half}00", label)
        else:
            value = ("PROJECT", "1", f"P-2026-{half:02d}", PROJECTS[(half - 1) % len(PROJECTS)])
        dimension, segment, value_id, description = value
        records.append(
            {
                "dimensionId": dimension,
                "segmentId": segment,
                "valueId": value_id,
                "description": description,
                "active": True,
            }
        )
    return records


def make_journal_transactions(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    spec = SPECS_BY_NAME["journalTransaction"]
    accounts = [a["accountCd"] for a in ctx.refs("account")] or ["1930", "6550"]
    centres = [d["valueId"] for d in ctx.refs("dimension") if d["dimensionId"] == "SUBACCOUNT"]
    currency = COUNTRIES.get(ctx.country, COUNTRIES["SE"]).currency
    records = []
    for n, (created, _) in enumerate(times, start=first):
        amount = money(ctx.rng.uniform(200, 80_000))
        debit, credit = ctx.rng.sample(accounts, 2) if len(accounts) > 1 else accounts * 2
        subaccount = ctx.rng.choice(centres) if centres else "CC100"
        text = ctx.rng.choice(("Periodisering", "Omföring", "Bankavgift", "Korrigering"))
        lines = [
            (1, debit, float(amount), 0.0),
            (2, credit, 0.0, float(amount)),
        ]
        records.append(
            {
                "module": "ModuleGL",
                "batchNumber": spec.number(n),
                "status": ctx.rng.choice(("Released", "Released", "Balanced", "Hold")),
                "transactionDate": date_value(created.date()),
                "currencyId": currency,
                "controlTotalInCurrency": float(amount),
                "description": text,
                "lines": [
                    {
                        "lineNumber": number,
                        "accountNumber": account,
                        "subaccount": subaccount,
                        "debitAmountInCurrency": dr,
                        "creditAmountInCurrency": cr,
                        "transactionDescription": text,
                    }
                    for number, account, dr, cr in lines
                ],
            }
        )
    return records


def make_customer_invoices(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    spec = SPECS_BY_NAME["customerInvoice"]
    customers = ctx.refs("customer")
    vat_rate = COUNTRIES.get(ctx.country, COUNTRIES["SE"]).vat_rate
    records = []
    for n, (created, _) in enumerate(times, start=first):
        if not customers:
            break
        customer = ctx.rng.choice(customers)
        amount = money(ctx.rng.uniform(1_000, 150_000))
        status = ctx.rng.choice(("Open", "Open", "Closed", "Balanced"))
        day = created.date()
        records.append(
            {
                "documentType": "Invoice",
                "referenceNumber": spec.number(n),
                "status": status,
                "customer": {"number": customer["number"], "name": customer["name"]},
                "date": date_value(day),
                "dueDate": date_value(day + timedelta(days=ctx.rng.choice((15, 30, 30, 45)))),
                "currencyId": customer["currencyId"],
                "amount": float(amount),
                "vatTotal": float(money(amount * vat_rate / (1 + vat_rate))),
                "balance": 0.0 if status == "Closed" else float(amount),
            }
        )
    return records


def make_customer_payments(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    spec = SPECS_BY_NAME["customerPayment"]
    invoices = ctx.refs("customerInvoice")
    records = []
    for n, (created, _) in enumerate(times, start=first):
        if not invoices:
            break
        invoice = ctx.rng.choice(invoices)
        records.append(
            {
                "type": "Payment",
                "refNbr": spec.number(n),
                "status": ctx.rng.choice(("Released", "Closed", "Open")),
                "customer": dict(invoice["customer"]),
                "paymentMethod": {"id": "BANK"},
                "applicationDate": date_value(created.date()),
                "currency": invoice["currencyId"],
                "paymentAmount": invoice["amount"],
            }
        )
    return records


def make_expense_claims(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    spec = SPECS_BY_NAME["expenseClaim"]
    employees = ctx.refs("employee")
    currency = COUNTRIES.get(ctx.country, COUNTRIES["SE"]).currency
    records = []
    for n, (created, _) in enumerate(times, start=first):
        if not employees:
            break
        employee = ctx.rng.choice(employees)
        lines = []
        for number in range(1, ctx.rng.randint(1, 4) + 1):
            item, text = ctx.rng.choice(EXPENSE_ITEMS)
            amount = money(ctx.rng.uniform(60, 4_500))
            lines.append(
                {
                    "lineNbr": number,
                    "expenseItem": item,
                    "description": text,
                    "amount": float(amount),
                }
            )
        status, approval = ctx.rng.choice(
            (
                ("Pending Approval", "Pending"),
                ("Approved", "Approved"),
                ("Hold", "Pending"),
                ("Released", "Approved"),
                ("Rejected", "Rejected"),
            )
        )
        records.append(
            {
                "refNbr": spec.number(n),
                "status": status,
                "approvalStatus": approval,
                "date": date_value(created.date()),
                "claimedBy": {"id": employee["employeeNumber"], "name": employee["employeeName"]},
                "currencyId": currency,
                "claimTotal": float(sum((Decimal(str(x["amount"])) for x in lines), Decimal(0))),
                "description": f"Utlägg {created:%Y-%m}",
                "lines": lines,
            }
        )
    return records
