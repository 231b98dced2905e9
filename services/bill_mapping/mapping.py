"""The mapping's rules: a BILL vendor or bill in, the Visma writer's write (or why not) out.

Command ids are derived from (tenant, company, kind, BILL id, BILL updated time): a webhook
and a poll of the same version, and any replay, give the same command, which the writer's
ledger applies once; a newer version of the record gives a new command. The updated time is
taken to the millisecond in UTC, so the two sources' spellings of one instant agree.

A bill line is booked on the Visma account and cost center the organization's mapping names
for its BILL GL account and department. A line whose account or department is not mapped, or
that has no GL account at all, makes the bill `Unmappable` with a reason naming it: never a
default account.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from bill_mapping.config import OrganizationMapping
from bill_mapping.records import (
    BillInvoice,
    BillVendor,
    InvoiceLineWrite,
    InvoiceWrite,
    SupplierWrite,
)

VENDOR = "vendor"
BILL = "bill"


def version_stamp(updated_time: datetime) -> str:
    """One instant, one spelling: UTC to the millisecond (a naive time is taken as UTC)."""
    if updated_time.tzinfo is None:
        updated_time = updated_time.replace(tzinfo=UTC)
    utc = updated_time.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def command_id(
    *, tenant_id: str, company_id: str, kind: str, bill_id: str, updated_time: datetime
) -> str:
    """The same BILL version gives the same id whoever reports it; a newer one another."""
    key = f"{tenant_id}|{company_id}|bill-{kind}|{bill_id}|{version_stamp(updated_time)}"
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Unmappable:
    """The bill cannot be booked as configured; `reason` says which line and what is missing."""

    reason: str


def supplier_write(org: OrganizationMapping, vendor: BillVendor) -> SupplierWrite:
    return SupplierWrite(
        command_id=command_id(
            tenant_id=vendor.tenant_id,
            company_id=org.company,
            kind=VENDOR,
            bill_id=vendor.vendor_id,
            updated_time=vendor.updated_time,
        ),
        tenant_id=vendor.tenant_id,
        company_id=org.company,
        vendor=vendor,
    )


def invoice_write(
    org: OrganizationMapping, bill: BillInvoice, *, supplier_number: str | None
) -> InvoiceWrite | Unmappable:
    """The bill as a supplier invoice of `org`'s company, or why it cannot be one."""
    if not bill.lines:
        return Unmappable(f"bill {bill.bill_id} ({bill.invoice_number}) has no lines")
    lines: list[InvoiceLineWrite] = []
    missing: list[str] = []
    for number, line in enumerate(bill.lines, start=1):
        where = f"line {number}"
        if line.gl_account_id is None:
            missing.append(f"{where} has no GL account")
            continue
        account = org.accounts.get(line.gl_account_id)
        if account is None:
            missing.append(f"{where}: GL account {line.gl_account_id!r} is not mapped")
        cost_center = None
        if line.department_id is not None:
            cost_center = org.cost_centers.get(line.department_id)
            if cost_center is None:
                missing.append(f"{where}: department {line.department_id!r} is not mapped")
        if account is not None:
            lines.append(InvoiceLineWrite(line.amount, account, cost_center, line.description))
    if missing:
        return Unmappable(
            f"bill {bill.bill_id} ({bill.invoice_number}) of organization "
            f"{bill.organization_id}: " + "; ".join(missing)
        )
    return InvoiceWrite(
        command_id=command_id(
            tenant_id=bill.tenant_id,
            company_id=org.company,
            kind=BILL,
            bill_id=bill.bill_id,
            updated_time=bill.updated_time,
        ),
        tenant_id=bill.tenant_id,
        company_id=org.company,
        bill=bill,
        supplier_number=supplier_number,
        lines=tuple(lines),
    )
