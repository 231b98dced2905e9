"""The payments' rule: an Airbase payment in, the Visma writer's `RecordSupplierPayment` (or
why not) out.

The command id is derived from (tenant, company, entry id, entry version): the poller's
version is a digest of the entry's content, the same whether a webhook or the schedule made
it read the entry, so every read and any replay of one version is the same command (the
writer's ledger applies it once); a changed entry is a new command.

A payment is booked only as the mapping says: every line's Airbase GL account and
department must be mapped to a Visma account and subaccount, the lines must add up to the
payment, and it must name the supplier (`vendor_ref`) and the supplier invoice it pays
(`bill_ref`). Anything missing makes it `Unmappable`, with a reason naming each problem:
never a default account, never a guessed invoice. Which ledger entry types are payments is
the airbase-poller's `payment_types` (one place to configure it): whatever it publishes is
taken as a payment of the bill it names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from airbase_payments.config import PaymentsConfig, TenantPayments
from events.airbase import AirbasePaymentLine, AirbasePaymentReady
from events.visma_writes import (
    RecordSupplierPayment,
    SupplierPaymentAllocation,
    payment_reference,
)

SOURCE_SYSTEM = "airbase"
RULE = "airbase-payments"
REPLY_TO = "airbase"


def command_id(*, tenant_id: str, company_id: str, entry_id: str, version: str) -> str:
    """The same entry version gives the same id whoever reads it; a changed entry another."""
    key = f"{tenant_id}|{company_id}|airbase-payment|{entry_id}|{version}"
    return hashlib.sha256(key.encode()).hexdigest()


def payment_entity_id(tenant_id: str, company_id: str, entry_id: str) -> str:
    """The audit trail's name of the payment, held or sent (the command's `entity_id`)."""
    return f"{tenant_id}/{company_id}/supplierPayment/{SOURCE_SYSTEM}:{entry_id}"


DOCUMENT_TYPE = "Invoice"


def paid_invoice(bill_ref: str) -> tuple[str, str]:
    """The Visma supplier invoice a bill's `erp_reference_id` names: (document type,
    reference number).

    The airbase-sink writes a bill's `erp_reference_id` as the supplier invoice's key in
    Visma: its reference number (`refNbr`), which the Visma writer finds the invoice by,
    optionally prefixed with the document type (`Invoice:000123`, the form the facts'
    samples show). Both are read; a bare number is an `Invoice`. Surrounding spaces (a hand
    edit in Airbase) do not count."""
    document_type, _, number = bill_ref.strip().rpartition(":")
    return (document_type.strip() or DOCUMENT_TYPE), number.strip()


@dataclass(frozen=True)
class Unmappable:
    """The payment cannot be posted as configured; `reason` names every problem."""

    reason: str


def payment_command(
    config: PaymentsConfig, payment: AirbasePaymentReady
) -> RecordSupplierPayment | Unmappable:
    """The payment as a Visma supplier payment of the tenant's company, or why it cannot be."""
    tenant = config.tenant(payment.tenant_id)
    if tenant is None:
        return Unmappable(
            f"payment {payment.entry_id}: tenant {payment.tenant_id!r} is not in the "
            "payments mapping file"
        )
    problems = _document_problems(tenant, payment)
    allocations, line_problems = _allocations(tenant, payment)
    problems += line_problems
    if problems:
        return Unmappable(_described(payment) + ": " + "; ".join(problems))
    assert payment.vendor_ref is not None
    assert payment.bill_ref is not None
    document_type, ref_nbr = paid_invoice(payment.bill_ref)
    return RecordSupplierPayment(
        command_id=command_id(
            tenant_id=payment.tenant_id,
            company_id=tenant.company,
            entry_id=payment.entry_id,
            version=payment.version,
        ),
        tenant_id=payment.tenant_id,
        rule=RULE,
        source_event_id=f"{SOURCE_SYSTEM}/{payment.event_id}",
        entity_type="supplierPayment",
        entity_id=payment_entity_id(payment.tenant_id, tenant.company, payment.entry_id),
        created_at=payment.observed_at,
        company_id=tenant.company,
        source_system=SOURCE_SYSTEM,
        source_id=payment.entry_id,
        source_version=payment.version,
        supplier_number=payment.vendor_ref.strip(),
        invoice_ref_nbr=ref_nbr,
        document_type=document_type,
        payment_reference=payment_reference(SOURCE_SYSTEM, payment.entry_id),
        currency_id=payment.currency,
        amount=payment.amount,
        payment_date=payment.payment_date,
        allocations=allocations,
        reply_to=REPLY_TO,
    )


def _described(payment: AirbasePaymentReady) -> str:
    who = f" to {payment.vendor_name}" if payment.vendor_name else ""
    return f"payment {payment.entry_id} ({payment.amount} {payment.currency}{who})"


def _document_problems(tenant: TenantPayments, payment: AirbasePaymentReady) -> list[str]:
    problems: list[str] = []
    if payment.company_id != tenant.company:
        problems.append(
            f"the poller read it for Visma company {payment.company_id!r}, the mapping file "
            f"says {tenant.company!r}"
        )
    if not (payment.vendor_ref or "").strip():
        problems.append("its vendor has no Visma supplier number (vendor erp_reference_id)")
    if not paid_invoice(payment.bill_ref or "")[1]:
        bill = f"bill {payment.bill_id}" if payment.bill_id else "no bill"
        problems.append(f"it pays {bill} with no Visma supplier invoice (bill erp_reference_id)")
    return problems


def _allocations(
    tenant: TenantPayments, payment: AirbasePaymentReady
) -> tuple[list[SupplierPaymentAllocation], list[str]]:
    if not payment.lines:
        return [], ["no allocation lines: nothing names its GL account"]
    allocations: list[SupplierPaymentAllocation] = []
    problems: list[str] = []
    for line in payment.lines:
        allocation = _allocation(tenant, line, problems)
        if allocation is not None:
            allocations.append(allocation)
    total = sum((line.amount for line in payment.lines), start=Decimal(0))
    if total != payment.amount:
        problems.append(f"the lines add up to {total}, the payment is {payment.amount}")
    return allocations, problems


def _allocation(
    tenant: TenantPayments, line: AirbasePaymentLine, problems: list[str]
) -> SupplierPaymentAllocation | None:
    where = f"line {line.line_number}"
    account = None
    if line.account_ref is None:
        problems.append(f"{where} has no GL account")
    else:
        account = tenant.accounts.get(line.account_ref)
        if account is None:
            problems.append(f"{where}: GL account {line.account_ref!r} is not mapped")
    subaccount = None
    if line.department_ref is not None:
        subaccount = tenant.cost_centers.get(line.department_ref)
        if subaccount is None:
            problems.append(f"{where}: cost center {line.department_ref!r} is not mapped")
    elif tenant.cost_center_required:
        problems.append(f"{where} has no cost center (the tenant requires one)")
    if account is None:
        return None  # the payment is held: its other lines are not posted either
    return SupplierPaymentAllocation(
        amount=line.amount,
        account_number=account,
        subaccount=subaccount,
        description=line.description,
    )
