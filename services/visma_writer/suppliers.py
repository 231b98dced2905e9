"""UpsertSupplier: the Visma supplier that mirrors one source vendor, created once, then kept
up to date.

The kind's part of the shared machinery (`documents.py`):

- locate: the supplier the command was matched to (`supplier_number`), else the one the
  writer recorded for the vendor (`vendor_suppliers.py`), else a lookup in Visma: by
  organisation number, then VAT number (a supplier carrying this vendor's mark in its note
  first, else one with the same number, made by hand), or, for a vendor with neither, by the
  mark alone. This lookup is what finds a supplier created by an attempt that died between
  Visma's 201 and the ledger's DONE.
- find: the located supplier already shows every field of the command: written.
- read: the located supplier and its ETag (none: a create).
- write: `POST /v1/supplier` with the mark in `note`, or `PUT` with `If-Match`.
"""

from __future__ import annotations

from events.visma_writes import UpsertSupplier
from visma_client import Suppliers, SupplierWrite, VismaClient, VismaRequestRejected
from visma_client.models_reference import SupplierDto
from visma_writer.documents import Conflict, DocumentWriter, Target, Written
from visma_writer.vendor_suppliers import VendorSuppliers


def supplier_mark(command: UpsertSupplier) -> str:
    """Written in a created supplier's note: the lookup key for the vendor's supplier."""
    return f"[{command.source_system} vendor {command.source_id}]"


def desired(command: UpsertSupplier, *, note: str | None = None) -> SupplierWrite:
    return SupplierWrite(
        name=command.name,
        vat_registration_id=command.vat_registration_id,
        corporate_id=command.corporate_id,
        currency_id=command.currency_id,
        email=command.email,
        address_line_1=command.address_line_1,
        address_line_2=command.address_line_2,
        postal_code=command.postal_code,
        city=command.city,
        country_id=command.country_id,
        note=note,
    )


def shows(supplier: SupplierDto, command: UpsertSupplier) -> bool:
    """Whether the supplier already has every field the command sets."""
    address = supplier.main_address
    contact = supplier.main_contact
    pairs = [
        (supplier.name, command.name),
        (supplier.vat_registration_id, command.vat_registration_id),
        (supplier.corporate_id, command.corporate_id),
        (supplier.currency_id, command.currency_id),
        (contact.email if contact else None, command.email),
        (address.address_line1 if address else None, command.address_line_1),
        (address.address_line2 if address else None, command.address_line_2),
        (address.postal_code if address else None, command.postal_code),
        (address.city if address else None, command.city),
        (address.country_id if address else None, command.country_id),
    ]
    return all(wanted is None or found == wanted for found, wanted in pairs)


class SupplierKind:
    name = "UpsertSupplier"

    def __init__(self, vendors: VendorSuppliers) -> None:
        self._vendors = vendors

    async def _read(self, visma: VismaClient, number: str) -> tuple[SupplierDto, str | None] | None:
        try:
            return await Suppliers(visma).read_supplier(number)
        except VismaRequestRejected as exc:
            if exc.status_code == 404:
                return None
            raise

    async def _locate(
        self, visma: VismaClient, command: UpsertSupplier
    ) -> tuple[SupplierDto, str | None] | None:
        if command.supplier_number:
            found = await self._read(visma, command.supplier_number)
            if found is None:
                raise VismaRequestRejected(
                    f"supplier {command.supplier_number}, matched to {command.source_system} "
                    f"vendor {command.source_id}, is not in Visma",
                    status_code=404,
                )
            return found
        recorded = self._vendors.supplier_of(command)
        if recorded is not None and (found := await self._read(visma, recorded)) is not None:
            return found
        number = await self._look_up(visma, command)
        return None if number is None else await self._read(visma, number)

    async def _look_up(self, visma: VismaClient, command: UpsertSupplier) -> str | None:
        suppliers, mark = Suppliers(visma), supplier_mark(command)
        candidates: list[SupplierDto] = []
        if command.corporate_id:
            candidates += await suppliers.find_by_corporate_id(command.corporate_id)
        if command.vat_registration_id and not candidates:
            candidates += await suppliers.find_by_vat_id(command.vat_registration_id)
        if not command.corporate_id and not command.vat_registration_id:
            candidates += await suppliers.find_by_note_mark(mark)
        marked = [s for s in candidates if mark in (s.note or "")]
        chosen = (marked or candidates)[:1]
        return chosen[0].number if chosen else None

    async def find(self, visma: VismaClient, command: UpsertSupplier) -> Written | None:
        located = await self._locate(visma, command)
        if located is not None and located[0].number and shows(located[0], command):
            return Written(located[0].number, located[1])
        return None

    async def read(self, visma: VismaClient, command: UpsertSupplier) -> Target[SupplierDto | None]:
        located = await self._locate(visma, command)
        if located is None:
            return Target(None, None, f"new supplier for {command.source_system} vendor "
                          f"{command.source_id}")  # fmt: skip
        return Target(located[0], located[1], f"supplier {located[0].number}")

    def conflict(
        self, command: UpsertSupplier, target: Target[SupplierDto | None]
    ) -> Conflict | None:
        return None  # the vendor in the source is the master of the supplier's fields

    async def write(
        self, visma: VismaClient, command: UpsertSupplier, target: Target[SupplierDto | None]
    ) -> Written:
        suppliers = Suppliers(visma)
        if target.state is None or not target.state.number:
            created = await suppliers.create_supplier(desired(command, note=supplier_mark(command)))
            return Written(created.number, created.etag)
        number = target.state.number
        etag = await suppliers.update_supplier(number, desired(command), etag=target.etag or "*")
        return Written(number, etag)


class SupplierWriter:
    """The document writer for suppliers, and the vendor's record once it is written."""

    def __init__(self, writer: DocumentWriter[UpsertSupplier, SupplierDto | None],
                 vendors: VendorSuppliers) -> None:  # fmt: skip
        self._writer = writer
        self._vendors = vendors

    async def apply(self, command: UpsertSupplier) -> str | None:
        number = await self._writer.apply(command)
        if number is not None:
            await self._vendors.remember(command, number)
        return number
