"""Fills the entity store with a company's deterministic dataset, and makes new records.

Entities are seeded in dependency order (suppliers before the invoices that name them,
invoices before the purchase orders they reference...), each from its own generator so
changing one entity's count never reshuffles another's data. A record created through the
admin API comes from the same generators, with the next free number and the sandbox
clock's now as both creation and modification time.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sandbox.dataset import country_of, make_invoice, make_invoices, make_suppliers
from sandbox.dataset_ledger import (
    make_accounts,
    make_customer_invoices,
    make_customer_payments,
    make_dimensions,
    make_expense_claims,
    make_journal_transactions,
)
from sandbox.dataset_parties import make_customers, make_employees, make_supplier_records
from sandbox.dataset_purchasing import (
    make_purchase_orders,
    make_purchase_receipts,
    make_supplier_payments,
    referenced_orders,
)
from sandbox.nordic import Generator, SeedContext, entity_rng, timeline
from sandbox.visma.entities import ENTITY_SPECS, EntitySpec
from sandbox.visma.records import Supplier, invoice_fields
from sandbox.visma.store import EntityStore

GENERATORS: dict[str, Generator] = {
    "supplier": make_supplier_records,
    "employee": make_employees,
    "customer": make_customers,
    "account": make_accounts,
    "dimension": make_dimensions,
    "purchaseOrder": make_purchase_orders,
    "purchaseReceipt": make_purchase_receipts,
    "expenseClaim": make_expense_claims,
    "journalTransaction": make_journal_transactions,
    "customerInvoice": make_customer_invoices,
    "supplierPayment": make_supplier_payments,
    "customerPayment": make_customer_payments,
}


class CannotCreate(ValueError):
    """The record would duplicate an id, or needs records (e.g. suppliers) that are missing."""


def _context(
    store: EntityStore, company: str, seed: int, rng: random.Random, *, seeding: bool
) -> SeedContext:
    return SeedContext(
        company=company,
        country=country_of(company).code,
        seed=seed,
        rng=rng,
        refs=lambda entity: [r.fields for r in store.list(entity, company)],
        seeding=seeding,
    )


def seed_company(
    store: EntityStore, company: str, *, counts: Mapping[str, int], seed: int, anchor: datetime
) -> list[Supplier]:
    """Seed every entity of one company; returns the suppliers invoices draw from."""
    suppliers = make_suppliers(company, seed, counts["supplier"])
    for spec in ENTITY_SPECS:
        store.ensure_company(spec.name, company)
        if spec.name == "supplierInvoice":
            invoices = make_invoices(
                company, counts[spec.name], seed=seed, anchor=anchor, suppliers=suppliers
            )
            for invoice in invoices:
                store.add(
                    spec,
                    company,
                    invoice_fields(invoice),
                    created=invoice.created,
                    last_modified=invoice.last_modified,
                )
            continue
        ctx = _context(store, company, seed, entity_rng(company, seed, spec.name), seeding=True)
        count = counts[spec.name]
        if spec.name == "purchaseOrder":
            count = max(count, len(referenced_orders(ctx)))
        times = timeline(ctx.rng, count, anchor)
        for fields, (created, modified) in zip(
            GENERATORS[spec.name](ctx, times, 1), times, strict=False
        ):
            store.add(spec, company, fields, created=created, last_modified=modified)
    return suppliers


def _next_number(store: EntityStore, spec: EntitySpec, company: str, lead: dict[str, Any]) -> int:
    n = len(store.list(spec.name, company)) + 1
    while store.contains(
        spec.name, company, spec.entity_id({**lead, spec.id_fields[-1]: spec.number(n)})
    ):
        n += 1
    return n


def new_record_fields(
    store: EntityStore,
    spec: EntitySpec,
    company: str,
    *,
    overrides: Mapping[str, Any],
    rng: random.Random,
    now: datetime,
    suppliers: list[Supplier],
) -> dict[str, Any]:
    """A plausible new record with the next free number, ``overrides`` laid on top."""
    lead = {
        **(spec.id_defaults or {}),
        **{k: overrides[k] for k in spec.id_fields if k in overrides},
    }
    n = _next_number(store, spec, company, lead)
    if spec.name == "supplierInvoice":
        if not suppliers:
            raise CannotCreate(f"{company} has no suppliers to invoice from")
        invoice = make_invoice(
            rng, company=company, supplier=rng.choice(suppliers), reference="", anchor=now
        )
        invoice.reference_number = spec.number(n)
        generated = [invoice_fields(invoice)]
    else:
        ctx = _context(store, company, rng.randrange(1 << 30), rng, seeding=False)
        generated = GENERATORS[spec.name](ctx, [(now, now)], n)
    if not generated:
        raise CannotCreate(f"a new {spec.name} needs related records that {company} lacks")
    fields = {**generated[0], **lead, spec.id_fields[-1]: spec.number(n)}
    fields.update(overrides)
    if store.contains(spec.name, company, spec.entity_id(fields)):
        raise CannotCreate(f"{spec.name} {spec.entity_id(fields)} already exists")
    return fields
