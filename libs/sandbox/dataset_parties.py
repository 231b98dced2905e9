"""Seed data for the parties around the ledger: suppliers, customers and employees.

Suppliers are the ones the seeded invoices reference (same numbers and names), with a
supplier class naming the vendor category. Identifiers follow each country's format
(Swedish organisation numbers, Norwegian MVA numbers, Danish CVR, Finnish Y-tunnus).
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from sandbox.dataset import COUNTRIES, make_suppliers
from sandbox.nordic import SeedContext, ascii_slug, email, person, phone
from sandbox.visma.entities import SPECS_BY_NAME
from sandbox.visma.records import Supplier

SUPPLIER_CLASSES = {
    "construction": ("RAW", "Raw materials"),
    "freight": ("LOG", "Logistics"),
    "consulting": ("SERV", "Services"),
    "it_services": ("IT", "IT"),
    "office_supplies": ("OFFICE", "Office supplies"),
    "facilities": ("FAC", "Facilities"),
}
DEPARTMENTS = ("Finance", "Purchasing", "IT", "Operations", "Sales", "Management")
CUSTOMER_WORDS = {
    "SE": ("Handel", "Hotell", "Fastigheter", "Livs", "Media", "Verkstad"),
    "NO": ("Handel", "Hotell", "Eiendom", "Sjømat", "Media", "Verksted"),
    "DK": ("Handel", "Hotel", "Ejendomme", "Fødevarer", "Medier", "Værksted"),
    "FI": ("Kauppa", "Hotelli", "Kiinteistöt", "Elintarvike", "Media"),
}


def _registration(rng: random.Random, country: str) -> tuple[str, str]:
    """(vatRegistrationId, corporateId) in the country's shape."""
    digits = "".join(str(rng.randint(0, 9)) for _ in range(9))
    if country == "NO":
        return f"NO{digits}MVA", digits
    if country == "DK":
        return f"DK{digits[:8]}", digits[:8]
    if country == "FI":
        return f"FI{digits[:8]}", f"{digits[:7]}-{digits[7]}"
    org = f"55{digits[:8]}"
    return f"SE{org}01", f"{org[:6]}-{org[6:]}"


def supplier_fields(supplier: Supplier, rng: random.Random) -> dict[str, Any]:
    class_id, description = SUPPLIER_CLASSES[supplier.category]
    vat_id, corporate_id = _registration(rng, supplier.country)
    domain = f"{ascii_slug(supplier.name.rsplit(' ', 1)[0])}.example-{supplier.country.lower()}"
    return {
        "internalId": supplier.internal_id,
        "number": supplier.number,
        "name": supplier.name,
        "status": "Active",
        "supplierClass": {"id": class_id, "description": description},
        "currencyId": supplier.currency_id,
        "vatRegistrationId": vat_id,
        "corporateId": corporate_id,
        "mainContact": {
            "email": email("invoice", supplier.country, domain=domain),
            "phone1": phone(rng, supplier.country),
        },
    }


def suppliers_for(ctx: SeedContext, count: int) -> list[Supplier]:
    if ctx.seeding:
        return make_suppliers(ctx.company, ctx.seed, count)
    return make_suppliers(ctx.company, ctx.rng.randrange(1 << 30), count)


def make_supplier_records(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    spec = SPECS_BY_NAME["supplier"]
    records = []
    for n, supplier in enumerate(suppliers_for(ctx, len(times)), start=first):
        fields = supplier_fields(supplier, ctx.rng)
        fields.update(internalId=999 + n, number=spec.number(n))
        records.append(fields)
    return records


def make_employees(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    spec = SPECS_BY_NAME["employee"]
    taken = {str(e["employeeName"]) for e in ctx.refs("employee")}
    records = []
    for n in range(first, first + len(times)):
        name = person(ctx.rng, ctx.country)
        while name in taken and len(taken) < 60:
            name = person(ctx.rng, ctx.country)
        taken.add(name)
        records.append(
            {
                "employeeId": 100 + n,
                "employeeNumber": spec.number(n),
                "employeeName": name,
                "status": "Active",
                "department": ctx.rng.choice(DEPARTMENTS),
                "contact": {
                    "email": email(name, ctx.country),
                    "phone1": phone(ctx.rng, ctx.country),
                },
            }
        )
    return records


def make_customers(
    ctx: SeedContext, times: list[tuple[datetime, datetime]], first: int
) -> list[dict[str, Any]]:
    spec = SPECS_BY_NAME["customer"]
    country = COUNTRIES.get(ctx.country, COUNTRIES["SE"])
    words = CUSTOMER_WORDS[country.code]
    records = []
    for n in range(first, first + len(times)):
        label = f"{ctx.rng.choice(country.stems)} {ctx.rng.choice(words)}"
        domain = f"{ascii_slug(label)}.example-{country.code.lower()}"
        records.append(
            {
                "internalId": 2000 + n,
                "number": spec.number(n),
                "name": f"{label} {country.legal_form}",
                "status": "Active",
                "currencyId": country.currency,
                "mainContact": {
                    "email": email("ekonomi", country.code, domain=domain),
                    "phone1": phone(ctx.rng, country.code),
                },
            }
        )
    return records
