"""The supplier and supplier-invoice writers over the Visma sandbox in process (ASGI)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from receipts_kit import COMPANY, START, MemoryReview, ReceiptHarness

from events.visma_writes import SupplierInvoiceLineWrite, UpsertSupplier, UpsertSupplierInvoice
from visma_writer.documents import DocumentWriter
from visma_writer.supplier_invoices import SupplierInvoiceKind
from visma_writer.suppliers import SupplierKind, SupplierWriter
from visma_writer.vendor_suppliers import VendorSuppliers

VENDOR = "00901VEN1"


def vendor_command(command_id: str = "cmd-v1", **changes: Any) -> UpsertSupplier:
    fields: dict[str, Any] = {
        "command_id": command_id,
        "tenant_id": "t1",
        "company_id": COMPANY,
        "source_system": "bill",
        "source_id": VENDOR,
        "name": "Nordisk Kontor ApS",
        "vat_registration_id": "DK31337000",
        "corporate_id": "31337000",
        "currency_id": "DKK",
        "email": "ap@nordisk.example-dk",
        "address_line_1": "Vesterbrogade 1",
        "city": "Copenhagen",
        "country_id": "DK",
        "rule": "bill-vendors",
        "source_event_id": "evt-v1",
        "entity_type": "supplier",
        "entity_id": f"t1/{COMPANY}/supplier/bill:{VENDOR}",
        "created_at": START,
    }
    return UpsertSupplier.model_validate(fields | changes)


def bill_command(command_id: str = "cmd-b1", **changes: Any) -> UpsertSupplierInvoice:
    fields: dict[str, Any] = {
        "command_id": command_id,
        "tenant_id": "t1",
        "company_id": COMPANY,
        "source_system": "bill",
        "source_id": "00n01BILL1",
        "source_vendor_id": VENDOR,
        "supplier_reference": "INV-7781",
        "invoice_date": date(2026, 3, 1),
        "due_date": date(2026, 3, 31),
        "currency_id": "DKK",
        "amount": Decimal("1250.50"),
        "lines": [
            SupplierInvoiceLineWrite(
                description="Paper", amount=Decimal("1000.50"), account_number="6100",
                subaccount="100-20",
            ),
            SupplierInvoiceLineWrite(
                description="Toner", amount=Decimal("250"), account_number="6110"
            ),
        ],
        "rule": "bill-bills",
        "source_event_id": "evt-b1",
        "entity_type": "supplierInvoice",
        "entity_id": f"t1/{COMPANY}/supplierInvoice/bill:00n01BILL1",
        "created_at": START,
    }  # fmt: skip
    return UpsertSupplierInvoice.model_validate(fields | changes)


class SupplierHarness(ReceiptHarness):
    """Both writers on one ledger, as the writer's composition root builds them."""

    def __init__(self) -> None:
        super().__init__()
        self.review = MemoryReview()
        self.vendors = VendorSuppliers(self.ledger)
        companies = {("t1", COMPANY): self.visma}
        self.suppliers = SupplierWriter(DocumentWriter(
            SupplierKind(self.vendors), companies=companies, ledger=self.ledger,
            audit=self.audit.trail, review=self.review, max_conflicts=2,
        ), self.vendors)  # fmt: skip
        self.invoices = DocumentWriter(
            SupplierInvoiceKind(self.vendors), companies=companies, ledger=self.ledger,
            audit=self.audit.trail, review=self.review, max_conflicts=2,
        )  # fmt: skip

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.admin.request(
            method, f"/visma{path}", headers=await self.visma_token(), **kwargs
        )
        assert response.status_code < 300, response.text
        return response.json() if response.content else response

    async def suppliers_named(self, corporate_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.api(
            "GET", "/v1/supplier", params={"corporateId": corporate_id}
        )
        return found

    async def invoices_of(self, supplier: str, reference: str) -> list[dict[str, Any]]:
        query = {"supplier": supplier, "supplierReference": reference}
        found: list[dict[str, Any]] = await self.api("GET", "/v1/supplierInvoice", params=query)
        return found
