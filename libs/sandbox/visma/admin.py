"""The Visma sandbox admin API (``/visma/_sandbox``): the levers tests and demos pull.

Create or change invoices (a change bumps ``lastModifiedDateTime`` to the clock's now and
issues a new ``timeStamp``, as the live ERP does), reseed, read statistics, inject faults.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from sandbox.faults import add_fault_routes
from sandbox.visma.records import Invoice, InvoiceLine, invoice_dto, money
from sandbox.visma.state import VismaState


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
    seed: int = 42


def _admin_view(state: VismaState, invoice: Invoice) -> dict[str, object]:
    dto = invoice_dto(invoice, total_count=1, max_page_size=state.config.max_page_size)
    return {"company": invoice.company, "internalId": invoice.internal_id, **dto}


def _create(state: VismaState, body: InvoiceCreate) -> Invoice:
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
        reference_number=state.store.next_reference(body.company),
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
    return state.store.add(invoice)


def _apply(invoice: Invoice, change: InvoiceChange) -> None:
    if change.amount is not None:
        invoice.amount = money(change.amount)
        invoice.balance = invoice.amount
    for name in ("vat_amount", "balance"):
        value = getattr(change, name)
        if value is not None:
            setattr(invoice, name, money(value))
    for name in ("status", "approval_status", "due_date", "description", "supplier_reference"):
        value = getattr(change, name)
        if value is not None:
            setattr(invoice, name, value)


def _invoice_routes(router: APIRouter, state: VismaState) -> None:

    @router.get("/invoices")
    async def list_invoices(company: str | None = None) -> list[dict[str, object]]:
        companies = [company] if company else state.store.companies()
        return [_admin_view(state, i) for c in companies for i in state.store.list(c)]

    @router.post("/invoices", status_code=201)
    async def create_invoice(body: InvoiceCreate) -> dict[str, object]:
        return _admin_view(state, _create(state, body))

    @router.patch("/invoices/{company}/{reference_number}")
    async def change_invoice(
        company: str, reference_number: str, body: InvoiceChange
    ) -> dict[str, object]:
        invoice = state.store.get(company, reference_number)
        if invoice is None:
            raise HTTPException(404, f"no invoice {reference_number} in {company}")
        _apply(invoice, body)
        state.store.touch(invoice, state.clock.now())
        return _admin_view(state, invoice)

    @router.post("/seed")
    async def reseed(body: SeedRequest) -> dict[str, object]:
        state.seed(body.invoices_per_company, seed=body.seed)
        counts = {c: len(state.store.list(c)) for c in state.store.companies()}
        return {"invoices": counts}


def _control_routes(router: APIRouter, state: VismaState) -> None:
    @router.get("/stats")
    async def stats() -> dict[str, object]:
        return state.stats.as_dict(state.faults.injected)

    @router.post("/reset")
    async def reset() -> dict[str, object]:
        """Zero the statistics and every budget window; data and tokens stay."""
        state.reset_counters()
        return {"ok": True}


def build_admin_router(state: VismaState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")
    _invoice_routes(router, state)
    _control_routes(router, state)
    add_fault_routes(router, state.faults)
    return router
