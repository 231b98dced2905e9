"""What a BILL organization holds before the connector first looks: vendors and their bills.

An organization with a ``seed`` starts with vendors and bills stamped over the weeks before
the sandbox clock's start, as a firm that used BILL before connecting it to Visma. With
``visma_tenant`` its vendors mirror that Visma company's suppliers (same name, the VAT
number as BILL's ``taxId``) so a connector matching vendors to suppliers finds them; the
``unmatched_vendors`` have no supplier in Visma, the seed's unmatched vendors. Bills take
their lines' GL accounts and departments from a small BILL chart (``CHART_OF_ACCOUNTS``,
``DEPARTMENTS``: BILL's own ids, which a tenant maps to Visma accounts and cost centers in
its configuration). Seeding publishes no webhook: nothing was subscribed yet.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sandbox.bill.config import BillOrganization, OrganizationSeed
from sandbox.bill.records import BillRecords
from sandbox.clock import SandboxClock
from sandbox.nordic import ascii_slug, email, entity_rng, timeline

CHART_OF_ACCOUNTS = {
    "0ca01MLC000000004000": "4000 Varekøb",
    "0ca01MLC000000006100": "6100 Kontorartikler",
    "0ca01MLC000000006800": "6800 Fragt",
    "0ca01MLC000000007200": "7200 Rådgivning",
}
DEPARTMENTS = {
    "0de01MLC000000000010": "Administration",
    "0de01MLC000000000020": "Salg",
    "0de01MLC000000000030": "Lager",
}
UNMATCHED_NAMES = ("Nyhavn Kaffe ApS", "Vesterbro Blomster ApS", "Amager Cykler ApS")

SuppliersOf = Callable[[str], list[dict[str, Any]]]
"""A Visma company's supplier records (their fields), for mirroring."""


def _vendors(
    seed: OrganizationSeed,
    suppliers_of: SuppliersOf,
    rng: random.Random,
) -> list[dict[str, Any]]:
    mirrored = suppliers_of(seed.visma_tenant)[: seed.vendors] if seed.visma_tenant else []
    vendors = [
        {
            "name": s["name"],
            "taxId": s.get("vatRegistrationId"),
            "email": (s.get("mainContact") or {}).get("email") or email("ap", "DK"),
        }
        for s in mirrored
    ]
    for n in range(seed.vendors - len(vendors) + seed.unmatched_vendors):
        name = UNMATCHED_NAMES[n % len(UNMATCHED_NAMES)]
        name = name if n < len(UNMATCHED_NAMES) else f"{name} {n + 1}"
        vendors.append(
            {
                "name": name,
                "taxId": f"DK{rng.randrange(10**7, 10**8)}",
                "email": f"faktura@{ascii_slug(name)}.example-dk.test",
            }
        )
    return vendors


def _bill(vendor: dict[str, Any], number: int, day: date, rng: random.Random) -> dict[str, Any]:
    lines = [
        {
            "amount": float(rng.randrange(200_00, 25_000_00)) / 100,
            "description": f"Leverance {number}-{line + 1}",
            "classifications": {
                "chartOfAccountId": rng.choice(list(CHART_OF_ACCOUNTS)),
                "departmentId": rng.choice(list(DEPARTMENTS)),
            },
        }
        for line in range(rng.randint(1, 3))
    ]
    return {
        "vendorId": vendor["id"],
        "invoice": {"invoiceNumber": f"F-{number:05d}", "invoiceDate": day.isoformat()},
        "dueDate": (day + timedelta(days=30)).isoformat(),
        "billLineItems": lines,
    }


def seed_organization(
    records: BillRecords,
    organization: BillOrganization,
    *,
    clock: SandboxClock,
    suppliers_of: SuppliersOf,
    seed: int,
) -> None:
    plan = organization.seed
    if plan is None:
        return
    rng = entity_rng(organization.id, seed, "bill")
    vendors = _vendors(plan, suppliers_of, rng)
    count = len(vendors) * (1 + plan.bills_per_vendor)
    stamps = iter(timeline(rng, count, clock.now(), days=28))
    made = [records.create(organization.id, "vendor", v, times=next(stamps)) for v in vendors]
    for index, vendor in enumerate(made * plan.bills_per_vendor, start=1):
        created = next(stamps)
        fields = _bill(vendor, 10_000 + index, created[0].date(), rng)
        records.create(organization.id, "bill", fields, times=created)
