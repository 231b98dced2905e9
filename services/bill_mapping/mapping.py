"""The mapping's rules: a BILL vendor or bill in, the Visma writer's command (or why not) out.

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
from bill_mapping.matching import tax_ids
from events.bill import BillBillChanged, BillVendorChanged
from events.visma_writes import SupplierInvoiceLineWrite, UpsertSupplier, UpsertSupplierInvoice

SOURCE_SYSTEM = "bill"
RULE = "bill-mapping"
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


def supplier_command(
    org: OrganizationMapping, vendor: BillVendorChanged, *, supplier_number: str | None
) -> UpsertSupplier:
    """The vendor as a Visma supplier; `supplier_number` is the one it was matched to."""
    address = vendor.address
    corporate_id, vat_registration_id = tax_ids(vendor.tax_id)
    return UpsertSupplier(
        command_id=command_id(
            tenant_id=vendor.tenant_id,
            company_id=org.company,
            kind=VENDOR,
            bill_id=vendor.vendor_id,
            updated_time=vendor.updated_time,
        ),
        tenant_id=vendor.tenant_id,
        rule=RULE,
        source_event_id=f"{SOURCE_SYSTEM}/{vendor.version_id}",
        entity_type="supplier",
        entity_id=f"{vendor.tenant_id}/{org.company}/supplier/{SOURCE_SYSTEM}:{vendor.vendor_id}",
        created_at=vendor.updated_time,
        company_id=org.company,
        source_system=SOURCE_SYSTEM,
        source_id=vendor.vendor_id,
        supplier_number=supplier_number,
        name=vendor.name,
        corporate_id=corporate_id,
        vat_registration_id=vat_registration_id,
        currency_id=vendor.currency,
        email=vendor.email,
        address_line_1=address.line1 if address else None,
        address_line_2=address.line2 if address else None,
        postal_code=address.postal_code if address else None,
        city=address.city if address else None,
        country_id=address.country if address else None,
    )


def invoice_command(
    org: OrganizationMapping, bill: BillBillChanged, *, supplier_number: str | None
) -> UpsertSupplierInvoice | Unmappable:
    """The bill as a supplier invoice of `org`'s company, or why it cannot be one."""
    lines, missing = _lines(org, bill)
    if bill.invoice_date is None:
        missing.insert(0, "no invoice date")
    if missing:
        return Unmappable(
            f"bill {bill.bill_id} ({bill.invoice_number}) of organization "
            f"{bill.organization_id}: " + "; ".join(missing)
        )
    assert bill.invoice_date is not None
    return UpsertSupplierInvoice(
        command_id=command_id(
            tenant_id=bill.tenant_id,
            company_id=org.company,
            kind=BILL,
            bill_id=bill.bill_id,
            updated_time=bill.updated_time,
        ),
        tenant_id=bill.tenant_id,
        rule=RULE,
        source_event_id=f"{SOURCE_SYSTEM}/{bill.version_id}",
        entity_type="supplierInvoice",
        entity_id=f"{bill.tenant_id}/{org.company}/supplierInvoice/{SOURCE_SYSTEM}:{bill.bill_id}",
        created_at=bill.updated_time,
        company_id=org.company,
        source_system=SOURCE_SYSTEM,
        source_id=bill.bill_id,
        source_vendor_id=bill.vendor_id,
        supplier_number=supplier_number,
        supplier_reference=bill.invoice_number,
        invoice_date=bill.invoice_date,
        due_date=bill.due_date,
        currency_id=bill.currency or org.currency,
        amount=bill.amount,
        lines=lines,
    )


def _lines(
    org: OrganizationMapping, bill: BillBillChanged
) -> tuple[list[SupplierInvoiceLineWrite], list[str]]:
    if not bill.lines:
        return [], ["no lines"]
    lines: list[SupplierInvoiceLineWrite] = []
    missing: list[str] = []
    for number, line in enumerate(bill.lines, start=1):
        where = f"line {number}"
        if line.chart_of_account_id is None:
            missing.append(f"{where} has no GL account")
            continue
        account = org.accounts.get(line.chart_of_account_id)
        if account is None:
            missing.append(f"{where}: GL account {line.chart_of_account_id!r} is not mapped")
        cost_center = None
        if line.department_id is not None:
            cost_center = org.cost_centers.get(line.department_id)
            if cost_center is None:
                missing.append(f"{where}: department {line.department_id!r} is not mapped")
        if account is not None:
            lines.append(
                SupplierInvoiceLineWrite(
                    description=line.description or bill.invoice_number,
                    amount=line.amount,
                    account_number=account,
                    subaccount=cost_center,
                )
            )
    return lines, missing
