"""UpsertSupplierInvoice: the Visma supplier invoice that mirrors one source bill.

The kind's part of the shared machinery (`documents.py`):

- supplier: the command's `supplier_number`, else the one the writer recorded for the
  bill's vendor, else the supplier carrying the vendor's mark in Visma. None: the bill is
  not written; `SupplierNotWrittenError` (retryable) keeps it waiting on its key, behind its
  vendor's supplier (both are keyed by the vendor).
- find: the supplier's invoices with the bill's supplier reference (its invoice number),
  looked up before any create, so an attempt that died between Visma's 201 and the DONE is
  found, never made twice. Found and already showing the command's values: written.
- conflict: the invoice can no longer be edited (released), or it changed in Visma since the
  writer last wrote it: its amount or supplier is not what the writer's note says it wrote
  (or the writer never wrote it: entered by hand). A person reviews; nothing is overwritten.
- write: `POST /v1/supplierInvoice`, or `PUT` with `If-Match`, lines updated in place. The
  note records the bill and what was written (amount, supplier) for the next conflict check.
"""

from __future__ import annotations

import re
from decimal import Decimal

from chassis.errors import RetryableError
from events.visma_writes import FieldDifference, UpsertSupplierInvoice
from visma_client import InvoiceLineWrite, SupplierInvoiceWrite, Suppliers, VismaClient
from visma_client.models import SupplierInvoiceDto
from visma_writer.documents import Conflict, Target, Written
from visma_writer.vendor_suppliers import VendorSuppliers

EDITABLE = frozenset({"Hold", "Balanced"})
CENT = Decimal("0.01")
_WROTE = re.compile(r"amount=(?P<amount>-?[0-9.]+) supplier=(?P<supplier>\S+)")


class SupplierNotWrittenError(RetryableError):
    """The bill's vendor has no supplier in Visma yet: the bill waits for it."""


def bill_mark(command: UpsertSupplierInvoice) -> str:
    return f"[{command.source_system} bill {command.source_id}]"


def _cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT)


def desired(command: UpsertSupplierInvoice, supplier: str) -> SupplierInvoiceWrite:
    note = f"ml-connector {bill_mark(command)} amount={_cents(command.amount)} supplier={supplier}"
    return SupplierInvoiceWrite(
        supplier_number=supplier,
        supplier_reference=command.supplier_reference,
        invoice_date=command.invoice_date,
        due_date=command.due_date,
        currency_id=command.currency_id,
        amount=command.amount,
        description=command.description,
        document_type=command.document_type,
        note=note,
        lines=[
            InvoiceLineWrite(x.description, x.amount, x.account_number, x.subaccount)
            for x in command.lines
        ],
    )


def shows(invoice: SupplierInvoiceDto, command: UpsertSupplierInvoice, supplier: str) -> bool:
    """Whether the invoice already has what the command writes."""
    lines = [
        (x.transaction_description, _cents(x.amount), x.account_number,
         x.subaccount.id if x.subaccount else None)
        for x in invoice.invoice_lines
    ]  # fmt: skip
    wanted = [
        (x.description, _cents(x.amount), x.account_number, x.subaccount) for x in command.lines
    ]
    return (
        invoice.supplier is not None
        and invoice.supplier.number == supplier
        and _cents(invoice.amount) == _cents(command.amount)
        and invoice.date == command.invoice_date
        and (command.due_date is None or invoice.due_date == command.due_date)
        and invoice.currency_id == command.currency_id
        and lines == wanted
    )


def last_written(
    invoice: SupplierInvoiceDto, command: UpsertSupplierInvoice
) -> tuple[str, str] | None:
    """(amount, supplier) as the writer's note says it last wrote them; None if it never did."""
    note = invoice.note or ""
    if bill_mark(command) not in note:
        return None
    match = _WROTE.search(note)
    return (match["amount"], match["supplier"]) if match else None


class SupplierInvoiceKind:
    name = "UpsertSupplierInvoice"

    def __init__(self, vendors: VendorSuppliers) -> None:
        self._vendors = vendors

    async def supplier(self, visma: VismaClient, command: UpsertSupplierInvoice) -> str:
        if command.supplier_number:
            return command.supplier_number
        recorded = self._vendors.supplier_of(command)
        if recorded:
            await self._vendors.remember(command, recorded)  # keeps a record in use alive
            return recorded
        mark = f"[{command.source_system} vendor {command.source_vendor_id}]"
        marked = await Suppliers(visma).find_by_note_mark(mark)
        if marked and marked[0].number:
            await self._vendors.remember(command, marked[0].number)
            return marked[0].number
        raise SupplierNotWrittenError(
            f"{command.source_system} bill {command.source_id} waits for the supplier of "
            f"vendor {command.source_vendor_id}: not in Visma yet"
        )

    async def _existing(
        self, visma: VismaClient, command: UpsertSupplierInvoice, supplier: str
    ) -> tuple[SupplierInvoiceDto, str | None] | None:
        suppliers = Suppliers(visma)
        found = await suppliers.find_invoices(supplier, command.supplier_reference)
        ours = [i for i in found if bill_mark(command) in (i.note or "")]
        chosen = (ours or found)[:1]
        if not chosen:
            return None
        return await suppliers.read_invoice(
            chosen[0].document_type or command.document_type, chosen[0].reference_number
        )

    async def find(self, visma: VismaClient, command: UpsertSupplierInvoice) -> Written | None:
        supplier = await self.supplier(visma, command)
        existing = await self._existing(visma, command, supplier)
        if existing is not None and shows(existing[0], command, supplier):
            return Written(existing[0].reference_number, existing[1])
        return None

    async def read(
        self, visma: VismaClient, command: UpsertSupplierInvoice
    ) -> Target[tuple[str, SupplierInvoiceDto | None]]:
        supplier = await self.supplier(visma, command)
        existing = await self._existing(visma, command, supplier)
        if existing is None:
            document = f"new supplier invoice {command.supplier_reference} of supplier {supplier}"
            return Target((supplier, None), None, document)
        invoice, etag = existing
        document = f"supplier invoice {invoice.reference_number} ({command.supplier_reference})"
        return Target((supplier, invoice), etag, document)

    def conflict(
        self,
        command: UpsertSupplierInvoice,
        target: Target[tuple[str, SupplierInvoiceDto | None]],
    ) -> Conflict | None:
        supplier, invoice = target.state
        if invoice is None:
            return None
        found_supplier = invoice.supplier.number if invoice.supplier else None
        found = (str(_cents(invoice.amount)), str(found_supplier))
        differences: list[FieldDifference] = []
        if invoice.status not in EDITABLE:
            differences.append(FieldDifference(
                field="status", expected=" or ".join(sorted(EDITABLE)), found=str(invoice.status)
            ))  # fmt: skip
        wrote = last_written(invoice, command)
        if wrote is None:
            reason = "an invoice with this supplier reference was entered in Visma by hand"
            differences += [
                FieldDifference(
                    field="amount", expected=str(_cents(command.amount)), found=found[0]
                ),
                FieldDifference(field="supplier", expected=supplier, found=found[1]),
            ]
            return Conflict(reason, differences)
        for name, expected, now in (
            ("amount", wrote[0], found[0]),
            ("supplier", wrote[1], found[1]),
        ):
            if expected != now:
                differences.append(FieldDifference(field=name, expected=expected, found=now))
        if not differences:
            return None
        return Conflict(
            f"{command.source_system} bill {command.source_id} changed, but the invoice in "
            "Visma changed too (or can no longer be edited) since the writer last wrote it",
            differences,
        )

    async def write(
        self,
        visma: VismaClient,
        command: UpsertSupplierInvoice,
        target: Target[tuple[str, SupplierInvoiceDto | None]],
    ) -> Written:
        supplier, invoice = target.state
        suppliers, body = Suppliers(visma), desired(command, supplier)
        if invoice is None:
            created = await suppliers.create_invoice(body)
            return Written(created.number, created.etag)
        numbers = [x.line_number for x in invoice.invoice_lines if x.line_number is not None]
        etag = await suppliers.update_invoice(
            invoice.reference_number, body, etag=target.etag or "*", existing_line_numbers=numbers
        )
        return Written(invoice.reference_number, etag)
