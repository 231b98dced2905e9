"""An approver's payment of an approved bill, and the ledger entry Airbase makes of it.

The entry has exactly the field set recorded from the live API's ledger entries (Hotglue's
tap-airbase smoke test); the way a bill payment fills it (``type: "bill_payment"``,
``applied_to`` naming the bill, the allocation in ``expense_list`` with the account and a
department tag per line) is UNCONFIRMED, from the issue's contract. A payment without lines
allocates the bill's own lines; its amount defaults to the sum of its lines. Entries of
other kinds (``OtherEntry``: a card spend, a reimbursement) share the field set, so a
reader of the ``sync_ready`` list meets them as it would live.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class EntryFacts:
    """What distinguishes one ledger entry from another; the rest is Airbase's defaults."""

    type: str
    amount: Decimal
    currency: str | None
    lines: list[PaymentLine]
    entry_date: date
    payment_date: date | None = None
    vendor_ref: str | None = None
    subsidiary_ref: str | None = None
    invoice_number: str | None = None
    applied_to: list[dict[str, Any]] | None = None
    employee: dict[str, Any] | None = None


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
    entry_date = bill.get("entry_date")
    facts = EntryFacts(
        type="bill_payment",
        amount=amount,
        currency=(bill.get("currency") or {}).get("iso_code"),
        lines=lines,
        entry_date=date.fromisoformat(entry_date) if entry_date else today,
        payment_date=payment.payment_date or today,
        vendor_ref=bill["vendor"]["erp_reference_id"],
        subsidiary_ref=(bill.get("subsidiary") or {}).get("erp_reference_id"),
        invoice_number=bill.get("invoice_number"),
        applied_to=[
            {"id": bill["id"], "airbase_id": bill["airbase_id"], "transaction_type": "bill"}
        ],
    )
    return entry_of(records, facts, config=config)


def entry_of(records: TenantRecords, facts: EntryFacts, *, config: AirbaseConfig) -> dict[str, Any]:
    """A ``sync_ready`` entry (without ids) with the recorded field set."""
    money = {"amount": decimal_string(facts.amount), "currency": facts.currency}
    vendor = None if facts.vendor_ref is None else records.by_reference("vendors", facts.vendor_ref)
    defaults = config.payments
    return {
        "erp_reference_id": None,
        "erp_url": None,
        "type": facts.type,
        "status": "sync_ready",
        "error_message": None,
        "spend_owner": {"name": defaults.approver_name, "email": defaults.approver_email},
        "subsidiary": _named(records, "subsidiaries", facts.subsidiary_ref),
        "credit_mode": False,
        "vendor": None
        if vendor is None
        else {
            "id": vendor["id"],
            "airbase_id": vendor["airbase_id"],
            "name": vendor["name"],
            "erp_reference_id": vendor["erp_reference_id"],
            "created_in_platform": False,
            "created_in_airbase": False,
        },
        "employee": facts.employee,
        "invoice_number": facts.invoice_number,
        "bank_account": {
            "erp_reference_id": defaults.bank_account,
            "name": defaults.bank_account_name,
        },
        "ap_account": {"erp_reference_id": defaults.ap_account, "name": defaults.ap_account_name},
        "applied_to": facts.applied_to,
        "receipt_link": None,
        "entry_date": facts.entry_date.isoformat(),
        "payment_entry_date": None
        if facts.payment_date is None
        else facts.payment_date.isoformat(),
        "currency": {"erp_reference_id": facts.currency, "iso_code": facts.currency},
        "total_amount": decimal_string(facts.amount),
        "transaction_tags": [],
        "notes": None,
        "is_amortized": False,
        "amortization_account": None,
        "amortization_start_date": None,
        "amortization_end_date": None,
        "expense_list": [_expense_line(records, n, line) for n, line in enumerate(facts.lines, 1)],
        "amounts": {
            "amount": money,
            "transaction_amount": dict(money),
            "settlement_amount": None,
            "subsidiary_amount": dict(money),
        },
    }


class OtherEntry(BaseModel):
    """An entry that is not a bill payment (a card spend, a reimbursement: the poller must
    leave it alone). Its ``type`` values are UNCONFIRMED; the caller names one."""

    tenant: str
    type: str = Field(min_length=1)
    currency: str = "SEK"
    lines: list[PaymentLine] = Field(min_length=1)
    vendor: str | None = None
    """A vendor's erp_reference_id, if the spend has one."""
    employee_name: str | None = None
    employee_email: str | None = None
    entry_date: date | None = None

    def facts(self, today: date) -> EntryFacts:
        employee = None
        if self.employee_name or self.employee_email:
            employee = {"name": self.employee_name, "email": self.employee_email}
        return EntryFacts(
            type=self.type,
            amount=sum((line.amount for line in self.lines), Decimal(0)),
            currency=self.currency,
            lines=self.lines,
            entry_date=self.entry_date or today,
            vendor_ref=self.vendor,
            employee=employee,
        )
