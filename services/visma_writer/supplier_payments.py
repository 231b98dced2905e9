"""RecordSupplierPayment: the Visma supplier payment of one payment made in a source system
(an Airbase ledger entry), for one supplier invoice, with its GL accounts and cost centers.

The kind's part of the shared machinery (`documents.py`):

- find: the supplier's payment carrying the command's `payment_reference`
  (`airbase:<entry id>`), looked up before any create, so an attempt that died between
  Visma's 201 and the DONE is found, never paid twice. Found and recorded (in its
  description) as written from this version of the entry: written.
- read: the paid invoice and, when there is one, the payment made for an earlier version of
  the entry, each with its ETag (the payment's is the one a write uses).
- conflict: the invoice is not the supplier's, is not open, or has less left to pay than the
  payment adds; or the payment changed in Visma since the writer wrote it (its amount or
  supplier is not what the description says was written, or it was entered by hand). A
  person reviews; nothing is overwritten.
- write: `POST /v1/supplierPayment`, or `PUT` with `If-Match` on the payment's ETag. The
  description records the entry, its version and what was written (amount, supplier).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from events.visma_writes import FieldDifference, RecordSupplierPayment
from visma_client import (
    PaidDocument,
    PaymentAllocationWrite,
    SupplierPayments,
    SupplierPaymentWrite,
    Suppliers,
    VismaClient,
    VismaRequestRejected,
)
from visma_client.models import SupplierInvoiceDto
from visma_client.models_procurement import SupplierPaymentDto
from visma_writer.documents import Conflict, Target, Written

PAYABLE = "Open"
"""The status of a released supplier invoice with a balance: the only one Visma pays."""
CENT = Decimal("0.01")
VERSION_CHARS = 16
_WROTE = re.compile(
    r"\[(?P<mark>[^\]]+) v(?P<version>\S+)\] amount=(?P<amount>-?[0-9.]+) "
    r"supplier=(?P<supplier>\S+)"
)


def _cents(value: Decimal | None) -> str:
    return "none" if value is None else str(value.quantize(CENT))


def entry_mark(command: RecordSupplierPayment) -> str:
    return f"{command.source_system} entry {command.source_id}"


def description(command: RecordSupplierPayment) -> str:
    """What the writer writes on the payment: the entry, its version, the amount and supplier."""
    version = command.source_version[:VERSION_CHARS]
    return (
        f"ml-connector [{entry_mark(command)} v{version}] amount={_cents(command.amount)} "
        f"supplier={command.supplier_number}"
    )


@dataclass(frozen=True)
class Wrote:
    """What the writer's description on a payment says it wrote."""

    version: str
    amount: str
    supplier: str


def last_written(payment: SupplierPaymentDto, command: RecordSupplierPayment) -> Wrote | None:
    """None if the writer never wrote this payment for the command's entry (by hand)."""
    match = _WROTE.search(payment.description or "")
    if match is None or match["mark"] != entry_mark(command):
        return None
    return Wrote(match["version"], match["amount"], match["supplier"])


def desired(command: RecordSupplierPayment) -> SupplierPaymentWrite:
    return SupplierPaymentWrite(
        supplier_number=command.supplier_number,
        payment_reference=command.payment_reference,
        application_date=command.payment_date,
        currency_id=command.currency_id,
        amount=command.amount,
        paid=[PaidDocument(command.document_type, command.invoice_ref_nbr, command.amount)],
        allocations=[
            PaymentAllocationWrite(x.amount, x.account_number, x.subaccount, x.description)
            for x in command.allocations
        ],
        description=description(command),
    )


@dataclass(frozen=True)
class PaymentTarget:
    """The paid invoice (None: not in Visma) and the entry's earlier payment, if any."""

    invoice: SupplierInvoiceDto | None
    payment: SupplierPaymentDto | None


def _already_paid(payment: SupplierPaymentDto | None, command: RecordSupplierPayment) -> Decimal:
    """What the payment pays on the command's invoice now (nothing without a payment)."""
    if payment is None:
        return Decimal(0)
    return sum(
        (
            x.amount_paid or Decimal(0)
            for x in payment.payment_lines
            if x.ref_nbr == command.invoice_ref_nbr
            and (x.document_type or "Invoice") == command.document_type
        ),
        Decimal(0),
    )


def _invoice_differences(
    command: RecordSupplierPayment, invoice: SupplierInvoiceDto, already: Decimal
) -> list[FieldDifference]:
    differences: list[FieldDifference] = []
    owner = invoice.supplier.number if invoice.supplier else None
    if owner != command.supplier_number:
        differences.append(
            FieldDifference(field="supplier", expected=command.supplier_number, found=str(owner))
        )
    more = command.amount - already
    if more > 0 and invoice.status != PAYABLE:
        differences.append(
            FieldDifference(field="status", expected=PAYABLE, found=str(invoice.status))
        )
    balance = invoice.balance if invoice.balance is not None else Decimal(0)
    if more > balance:
        differences.append(FieldDifference(
            field="balance", expected=f">= {_cents(more)}", found=_cents(balance)
        ))  # fmt: skip
    return differences


def _payment_differences(
    command: RecordSupplierPayment, payment: SupplierPaymentDto
) -> tuple[str, list[FieldDifference]] | None:
    found_supplier = str(payment.supplier.number if payment.supplier else None)
    found = {"amount": _cents(payment.payment_amount), "supplier": found_supplier}
    wrote = last_written(payment, command)
    if wrote is None:
        reason = f"a payment with reference {command.payment_reference} was entered in Visma"
        expected = {"amount": _cents(command.amount), "supplier": command.supplier_number}
    else:
        reason = (
            f"{entry_mark(command)} changed, but its payment in Visma changed too since the "
            "writer wrote it"
        )
        expected = {"amount": wrote.amount, "supplier": wrote.supplier}
    differences = [
        FieldDifference(field=name, expected=expected[name], found=found[name])
        for name in ("amount", "supplier")
        if expected[name] != found[name]
    ]
    if wrote is None:
        return reason, differences or [
            FieldDifference(field="description", expected=description(command),
                            found=str(payment.description))
        ]  # fmt: skip
    if found_supplier != command.supplier_number:
        differences.append(FieldDifference(
            field="supplier", expected=command.supplier_number, found=found_supplier
        ))  # fmt: skip
        reason = f"{entry_mark(command)} now names another supplier than its payment in Visma"
    return (reason, differences) if differences else None


class SupplierPaymentKind:
    name = "RecordSupplierPayment"

    async def _listed(
        self, visma: VismaClient, command: RecordSupplierPayment
    ) -> SupplierPaymentDto | None:
        found = await SupplierPayments(visma).find_by_reference(
            command.supplier_number, command.payment_reference
        )
        return found[0] if found and found[0].ref_nbr else None

    async def find(self, visma: VismaClient, command: RecordSupplierPayment) -> Written | None:
        listed = await self._listed(visma, command)  # the list shows what find needs
        if listed is None:
            return None
        wrote = last_written(listed, command)
        if wrote is None or wrote.version != command.source_version[:VERSION_CHARS]:
            return None  # made for an earlier version of the entry (or by hand): read, check
        return Written(str(listed.ref_nbr), listed.time_stamp)

    async def _existing(
        self, visma: VismaClient, command: RecordSupplierPayment
    ) -> tuple[SupplierPaymentDto, str | None] | None:
        listed = await self._listed(visma, command)
        if listed is None:
            return None
        return await SupplierPayments(visma).read(listed.type or "Payment", str(listed.ref_nbr))

    async def read(
        self, visma: VismaClient, command: RecordSupplierPayment
    ) -> Target[PaymentTarget]:
        existing = await self._existing(visma, command)
        invoice_name = f"supplier invoice {command.invoice_ref_nbr}"
        try:
            invoice, invoice_etag = await Suppliers(visma).read_invoice(
                command.document_type, command.invoice_ref_nbr
            )
        except VismaRequestRejected as exc:
            if exc.status_code != 404:
                raise
            return Target(PaymentTarget(None, existing[0] if existing else None), None,
                          invoice_name)  # fmt: skip
        if existing is None:
            document = f"new payment {command.payment_reference} of {invoice_name}"
            return Target(PaymentTarget(invoice, None), invoice_etag, document)
        payment, etag = existing
        document = f"supplier payment {payment.ref_nbr} ({command.payment_reference})"
        return Target(PaymentTarget(invoice, payment), etag, document)

    def conflict(
        self, command: RecordSupplierPayment, target: Target[PaymentTarget]
    ) -> Conflict | None:
        invoice, payment = target.state.invoice, target.state.payment
        if payment is not None:
            changed = _payment_differences(command, payment)
            if changed is not None:
                return Conflict(*changed)
        if invoice is None:
            return Conflict(
                f"{command.document_type} {command.invoice_ref_nbr} is not in Visma",
                [FieldDifference(field="invoice", expected=command.invoice_ref_nbr, found="none")],
            )
        differences = _invoice_differences(command, invoice, _already_paid(payment, command))
        if not differences:
            return None
        return Conflict(
            f"{command.document_type} {command.invoice_ref_nbr} cannot take the payment of "
            f"{entry_mark(command)}",
            differences,
        )

    async def write(
        self, visma: VismaClient, command: RecordSupplierPayment, target: Target[PaymentTarget]
    ) -> Written:
        payments, body = SupplierPayments(visma), desired(command)
        payment = target.state.payment
        if payment is None:
            created = await payments.create(body)
            return Written(created.number, created.etag)
        paid = [(x.document_type or "Invoice", str(x.ref_nbr)) for x in payment.payment_lines]
        etag = await payments.update(
            payment.type or "Payment", str(payment.ref_nbr), body,
            etag=target.etag or "*", already_paid=paid,
        )  # fmt: skip
        return Written(str(payment.ref_nbr), etag)
