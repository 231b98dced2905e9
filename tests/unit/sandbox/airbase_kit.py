"""Helpers for the Airbase sandbox tests: the demo tenant's token, ERP-pushed records, an
approver's payment. Written from the API contract (docs/airbase-sandbox.md), not a client."""

from __future__ import annotations

from typing import Any

import httpx

ROOT = "/airbase"
ADMIN = "/airbase/_sandbox"
VENDORS = "/airbase/v1/accounting/vendors/"
ACCOUNTS = "/airbase/v1/accounting/accounts/"
DEPARTMENTS = "/airbase/v1/accounting/departments/"
BILLS = "/airbase/v1/accounting/bills/"
ORDERS = "/airbase/v1/accounting/purchase_orders/"
ENTRIES = "/airbase/v1/accounting/ledger_entries/"
SE = {"Authorization": "Token airbase-demo-token-tenant-se-1"}
NO = {"Authorization": "Token airbase-demo-token-tenant-no-1"}

RECORDED_ENTRY_FIELDS = {
    "id", "airbase_id", "erp_reference_id", "erp_url", "url", "airbase_url", "type", "status",
    "error_message", "spend_owner", "subsidiary", "credit_mode", "vendor", "employee",
    "invoice_number", "bank_account", "ap_account", "applied_to", "receipt_link", "entry_date",
    "payment_entry_date", "currency", "total_amount", "transaction_tags", "notes",
    "is_amortized", "amortization_account", "amortization_start_date",
    "amortization_end_date", "expense_list", "amounts",
}  # fmt: skip


async def create(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str] = SE
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def bill_body(vendor_ref: str, invoice_ref: str, *amounts: str) -> dict[str, Any]:
    return {
        "erp_reference_id": invoice_ref,
        "vendor": {"erp_reference_id": vendor_ref},
        "invoice_number": f"SUP-{invoice_ref}",
        "currency": {"iso_code": "SEK"},
        "total_amount": str(sum(float(a) for a in amounts)),
        "entry_date": "2026-03-01",
        "due_date": "2026-03-31",
        "expense_list": [
            {
                "account": {"erp_reference_id": "4010"},
                "amount": amount,
                "description": f"line {n}",
                "tags": [{"type": "department", "erp_reference_id": "CC10", "name": "Sales"}],
            }
            for n, amount in enumerate(amounts, 1)
        ],
    }


async def paid_entry(
    client: httpx.AsyncClient, vendor_ref: str, invoice_ref: str, *amounts: str
) -> dict[str, Any]:
    """A bill pushed by the ERP, approved and paid by the approver: its ledger entry."""
    bill = await create(client, BILLS, bill_body(vendor_ref, invoice_ref, *amounts))
    approved = await client.post(f"{ADMIN}/bills/{bill['airbase_id']}/approve")
    assert approved.status_code == 200, approved.text
    paid = await client.post(f"{ADMIN}/bills/{bill['airbase_id']}/pay")
    assert paid.status_code == 201, paid.text
    return paid.json()  # type: ignore[no-any-return]
