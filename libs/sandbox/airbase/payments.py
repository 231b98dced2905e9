"""An approver's payment of an approved bill, and the ledger entry Airbase makes of it.

The entry has exactly the field set recorded from the live API's ledger entries (Hotglue's
tap-airbase smoke test); the way a bill payment fills it (``type: "bill_payment"``,
``applied_to`` naming the bill, the allocation in ``expense_list`` with the account and a
department tag per line) is UNCONFIRMED, from the issue's contract. A payment without lines
allocates the bill's own lines; its amount defaults to the sum of its lines.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from sandbox.airbase.config import AirbaseConfig
from sandbox.airbase.errors import field_errors
from sandbox.airbase.records import TenantRecords
from sandbox.airbase.resources import decimal_string


class PaymentLine(BaseModel):
    amount: Decimal
    account: str | None = None
    """The GL account's erp_reference_id."""
    department: str | None = None
    """The department's (cost center's) erp_reference_id."""
    description: str | None = None


class Payment(BaseModel):
    amount: Decimal | None = None
    payment_date: date | None = None
    lines: list[PaymentLine] | None = Field(default=None, min_length=1)


def bill_lines(bill: dict[str, Any]) -> list[PaymentLine]:
    lines = []
    for line in bill.get("expense_list") or []:
        department = next(
            (t for t in line.get("tags") or [] if t.get("type") == "department"), None
        )
        lines.append(
            PaymentLine(
                amount=Decimal(line["amount"]),
                account=(line.get("account") or {}).get("erp_reference_id"),
                department=None if department is None else department.get("erp_reference_id"),
                description=line.get("description"),
            )
        )
    return lines


def _named(records: TenantRecords, resource: str, reference: str | None) -> dict[str, Any] | None:
    if reference is None:
        return None
    found = records.by_reference(resource, reference)
    return {"erp_reference_id": reference, "name": None if found is None else found["name"]}


def _expense_line(records: TenantRecords, number: int, line: PaymentLine) -> dict[str, Any]:
    department = _named(records, "departments", line.department)
    return {
        "line_number": number,
        "receipt_link": None,
        "account": _named(records, "accounts", line.account),
        "amount": decimal_string(line.amount),
        "tags": [] if department is None else [{"type": "department", **department}],
        "description": line.description,
        "amortization_start_date": None,
        "amortization_end_date": None,
    }


def ledger_entry(
    records: TenantRecords,
    bill: dict[str, Any],
    payment: Payment,
    *,
    config: AirbaseConfig,
    today: date,
) -> dict[str, Any]:
    """The ``bill_payment`` entry (without ids) for paying ``bill`` as ``payment`` says."""
    lines = payment.lines or bill_lines(bill)
    total = sum((line.amount for line in lines), Decimal(0))
    amount = payment.amount if payment.amount is not None else total
    if lines and amount != total:
        raise field_errors({"amount": [f"The lines add up to {total}, not {amount}."]})
    iso = (bill.get("currency") or {}).get("iso_code")
    money = {"amount": decimal_string(amount), "currency": iso}
    vendor = records.by_reference("vendors", bill["vendor"]["erp_reference_id"]) or {}
    subsidiary = (bill.get("subsidiary") or {}).get("erp_reference_id")
    defaults = config.payments
    return {
        "erp_reference_id": None,
        "erp_url": None,
        "type": "bill_payment",
        "status": "sync_ready",
        "error_message": None,
        "spend_owner": {"name": defaults.approver_name, "email": defaults.approver_email},
        "subsidiary": _named(records, "subsidiaries", subsidiary),
        "credit_mode": False,
        "vendor": {
            "id": vendor.get("id"),
            "airbase_id": vendor.get("airbase_id"),
            "name": vendor.get("name"),
            "erp_reference_id": vendor.get("erp_reference_id"),
            "created_in_platform": False,
            "created_in_airbase": False,
        },
        "employee": None,
        "invoice_number": bill.get("invoice_number"),
        "bank_account": {
            "erp_reference_id": defaults.bank_account,
            "name": defaults.bank_account_name,
        },
        "ap_account": {"erp_reference_id": defaults.ap_account, "name": defaults.ap_account_name},
        "applied_to": [
            {"id": bill["id"], "airbase_id": bill["airbase_id"], "transaction_type": "bill"}
        ],
        "receipt_link": None,
        "entry_date": bill.get("entry_date") or today.isoformat(),
        "payment_entry_date": (payment.payment_date or today).isoformat(),
        "currency": {"erp_reference_id": iso, "iso_code": iso},
        "total_amount": decimal_string(amount),
        "transaction_tags": [],
        "notes": None,
        "is_amortized": False,
        "amortization_account": None,
        "amortization_start_date": None,
        "amortization_end_date": None,
        "expense_list": [_expense_line(records, n, line) for n, line in enumerate(lines, 1)],
        "amounts": {
            "amount": money,
            "transaction_amount": dict(money),
            "settlement_amount": None,
            "subsidiary_amount": dict(money),
        },
    }
