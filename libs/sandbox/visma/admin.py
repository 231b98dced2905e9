"""The Visma sandbox admin API (``/visma/_sandbox``): the levers tests and demos pull.

Create or change records of any entity (a change bumps ``lastModifiedDateTime`` to the
clock's now and issues a new ``timeStamp``, as the live ERP does), register webhooks,
reseed, read statistics, inject faults. ``/invoices`` is the original supplier-invoice
API, kept as an alias with its snake_case fields.

``GET /actions`` and ``GET /invoices/{company}/{ref}/actions`` count the invoice actions
(and PUTs, as ``update``) applied through the public API;
``POST /invoices/{company}/{ref}/concurrent-edit`` plays another user saving the invoice
(a new ``timeStamp``, so a client's stale If-Match gets 412).
``PUT /paging`` orders lists by number and inserts and deletes records while a client pages
(``sandbox.visma.paging``); ``GET /paging`` says what it changed.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from sandbox.faults import add_fault_routes
from sandbox.visma.admin_entities import add_entity_routes, add_webhook_routes, create_record
from sandbox.visma.entities import SPECS_BY_NAME
from sandbox.visma.paging import PagingSwitch
from sandbox.visma.records import Invoice, InvoiceLine, date_value, invoice_fields, money
from sandbox.visma.state import VismaState
from sandbox.visma.store import Record, record_dto

INVOICE = SPECS_BY_NAME["supplierInvoice"]


class InvoiceCreate(BaseModel):
    company: str
    amount: Decimal = Field(gt=0)
    supplier_number: str | None = None
    currency_id: str | None = None
    vat_amount: Decimal | None = None
    status: str = "PendingApproval"
    approval_status: str = "Pending"
    invoice_date: date | None = None
    due_date: date | None = None
    po_number: str | None = None
    description: str = "Sandbox invoice"
    supplier_reference: str = "SANDBOX-1"


class InvoiceChange(BaseModel):
    amount: Decimal | None = Field(default=None, gt=0)
    vat_amount: Decimal | None = None
    balance: Decimal | None = None
    status: str | None = None
    approval_status: str | None = None
    due_date: date | None = None
    description: str | None = None
    supplier_reference: str | None = None


class SeedRequest(BaseModel):
    invoices_per_company: int = Field(default=25, ge=0, le=100_000)
    records_per_company: int | None = Field(default=None, ge=0, le=100_000)
    seed: int = 42


def _admin_view(state: VismaState, record: Record) -> dict[str, object]:
    dto = record_dto(record, total_count=1, max_page_size=state.config.max_page_size)
    return {"company": record.company, "internalId": record.internal_id, **dto}


def _create(state: VismaState, body: InvoiceCreate) -> Record:
    suppliers = state.suppliers.get(body.company)
    if not suppliers:
        raise HTTPException(404, f"unknown company {body.company}")
    supplier = next((s for s in suppliers if s.number == body.supplier_number), suppliers[0])
    now = state.clock.now()
    day = body.invoice_date or now.date()
    amount = money(body.amount)
    vat = money(body.vat_amount if body.vat_amount is not None else amount / 5)
    net = amount - vat
    line = InvoiceLine(1, body.description, Decimal(1), net, net, "6550", body.po_number)
    invoice = Invoice(
        company=body.company,
        reference_number="",
        status=body.status,
        approval_status=body.approval_status,
        supplier=supplier,
        invoice_date=day,
        due_date=body.due_date or day + timedelta(days=30),
        currency_id=body.currency_id or supplier.currency_id,
        amount=amount,
        vat_amount=vat,
        balance=amount,
        supplier_reference=body.supplier_reference,
        description=body.description,
        lines=[line],
        created=now,
        last_modified=now,
    )
    fields = invoice_fields(invoice)
    del fields["referenceNumber"]  # the store hands out the next number
    return create_record(state, INVOICE, body.company, fields)


_CAMEL = {
    "vat_amount": "vatAmount",
    "balance": "balance",
    "status": "status",
    "approval_status": "approvalStatus",
    "description": "description",
    "supplier_reference": "supplierReference",
}


def _updates(change: InvoiceChange) -> dict[str, object]:
    updates: dict[str, object] = {}
    if change.amount is not None:
        updates["amount"] = updates["balance"] = float(money(change.amount))
    for name, wire in _CAMEL.items():
        value = getattr(change, name)
        if isinstance(value, Decimal):
            updates[wire] = float(money(value))
        elif value is not None:
            updates[wire] = value
    if change.due_date is not None:
        updates["dueDate"] = date_value(change.due_date)
    return updates


def _invoice_routes(router: APIRouter, state: VismaState) -> None:

    @router.get("/invoices")
    async def list_invoices(company: str | None = None) -> list[dict[str, object]]:
        companies = [company] if company else state.store.companies(INVOICE.name)
        return [_admin_view(state, r) for c in companies for r in state.store.list(INVOICE.name, c)]

    @router.post("/invoices", status_code=201)
    async def create_invoice(body: InvoiceCreate) -> dict[str, object]:
        return _admin_view(state, _create(state, body))

    @router.patch("/invoices/{company}/{reference_number}")
    async def change_invoice(
        company: str, reference_number: str, body: InvoiceChange
    ) -> dict[str, object]:
        record = state.store.get(INVOICE.name, company, reference_number)
        if record is None:
            raise HTTPException(404, f"no invoice {reference_number} in {company}")
        return _admin_view(state, state.change(record, _updates(body)))

    @router.post("/seed")
    async def reseed(body: SeedRequest) -> dict[str, object]:
        state.seed(
            body.invoices_per_company, seed=body.seed, records_per_company=body.records_per_company
        )
        entities = {
            spec: {c: len(state.store.list(spec, c)) for c in state.store.companies(spec)}
            for spec in SPECS_BY_NAME
        }
        return {"invoices": entities[INVOICE.name], "entities": entities}


def _invoice_or_404(state: VismaState, company: str, key: str) -> Record:
    record = state.store.get(INVOICE.name, company, key)
    if record is None:
        raise HTTPException(404, f"no invoice {key} in {company}")
    return record


def _action_routes(router: APIRouter, state: VismaState) -> None:
    @router.get("/actions")
    async def applied_actions(company: str | None = None) -> list[dict[str, object]]:
        """Every applied invoice action (and PUT, as ``update``) with its count."""
        return state.actions.as_list(company)

    @router.get("/invoices/{company}/{key}/actions")
    async def invoice_actions(company: str, key: str) -> dict[str, object]:
        record = _invoice_or_404(state, company, key)
        return {
            "company": company,
            "entityId": record.entity_id,
            "status": record.fields.get("status"),
            "approvalStatus": record.fields.get("approvalStatus"),
            "timeStamp": record.timestamp,
            "actions": state.actions.for_record(company, record.entity_id),
        }

    @router.post("/invoices/{company}/{key}/concurrent-edit")
    async def concurrent_edit(company: str, key: str) -> dict[str, object]:
        """Someone else saves the invoice: a new ETag, so a stale If-Match gets 412."""
        record = _invoice_or_404(state, company, key)
        previous = record.timestamp
        state.change(record, {})
        return {"entityId": record.entity_id, "previous": previous, "timeStamp": record.timestamp}


def _control_routes(router: APIRouter, state: VismaState) -> None:
    @router.get("/stats")
    async def stats() -> dict[str, object]:
        return state.stats.as_dict(state.faults.injected) | {
            "record_changes": state.store.changes,
            "webhooks": state.webhooks.stats.as_dict(),
        }

    @router.get("/paging")
    async def paging() -> dict[str, object]:
        """The list order and churn switch in force, and the records it inserted and deleted."""
        return state.paging.stats()

    @router.put("/paging")
    async def set_paging(switch: PagingSwitch) -> dict[str, object]:
        """Order lists by number and/or insert and delete records while clients page."""
        state.paging.set(switch)
        return state.paging.stats()

    @router.post("/reset")
    async def reset() -> dict[str, object]:
        """Zero the statistics and every budget window; data and tokens stay."""
        state.reset_counters()
        return {"ok": True}


def build_admin_router(state: VismaState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")
    _invoice_routes(router, state)
    _action_routes(router, state)
    add_entity_routes(router, state)
    add_webhook_routes(router, state)
    _control_routes(router, state)
    add_fault_routes(router, state.faults)
    return router
