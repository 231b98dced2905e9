"""Deterministic, realistic Nordic seed data for the Visma simulator.

Demos and tests need invoices that look like a Nordic accounts-payable ledger: invented
but plausible supplier names with their legal forms (AB, AS, A/S, Oy), local currencies,
amounts spread from a few hundred to a few hundred thousand, PO references on most
invoices. The same seed always gives the same data; times are offsets from an anchor
(the sandbox clock at seeding time), so a frozen clock gives byte-identical datasets.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sandbox.visma.records import Invoice, InvoiceLine, Supplier, money


@dataclass(frozen=True)
class Country:
    code: str
    currency: str
    vat_rate: Decimal
    legal_form: str
    stems: tuple[str, ...]
    trades: tuple[tuple[str, str], ...]  # (trade word in the name, vendor category)


COUNTRIES = {
    "SE": Country(
        "SE",
        "SEK",
        Decimal("0.25"),
        "AB",
        ("Norrsken", "Fjällvik", "Granlund", "Älvdal", "Stenbacka", "Björkhaga"),
        (
            ("Bygg", "construction"),
            ("Logistik", "freight"),
            ("Konsult", "consulting"),
            ("Data", "it_services"),
            ("Kontorsvaror", "office_supplies"),
            ("Städ", "facilities"),
        ),
    ),
    "NO": Country(
        "NO",
        "NOK",
        Decimal("0.25"),
        "AS",
        ("Fjordlys", "Nordkapp", "Vestvind", "Solberg", "Trollheim", "Havørn"),
        (
            ("Transport", "freight"),
            ("Elektro", "construction"),
            ("Rådgivning", "consulting"),
            ("IT", "it_services"),
            ("Kontor", "office_supplies"),
            ("Drift", "facilities"),
        ),
    ),
    "DK": Country(
        "DK",
        "DKK",
        Decimal("0.25"),
        "A/S",
        ("Havbrise", "Skovgaard", "Lindholm", "Kystlys", "Bøgely", "Egelund"),
        (
            ("Tømrer", "construction"),
            ("Fragt", "freight"),
            ("Revision", "consulting"),
            ("Software", "it_services"),
            ("Kontorartikler", "office_supplies"),
            ("Rengøring", "facilities"),
        ),
    ),
    "FI": Country(
        "FI",
        "EUR",
        Decimal("0.255"),
        "Oy",
        ("Revontuli", "Koivula", "Järvimaa", "Tunturi", "Saarela"),
        (
            ("Rakennus", "construction"),
            ("Logistiikka", "freight"),
            ("Konsultointi", "consulting"),
            ("Ohjelmistot", "it_services"),
        ),
    ),
}

ACCOUNTS = {
    "construction": "4010",
    "freight": "5710",
    "consulting": "6550",
    "it_services": "5420",
    "office_supplies": "6110",
    "facilities": "5060",
}

COST_CENTERS = {
    "construction": "CC200",
    "freight": "CC200",
    "consulting": "CC300",
    "it_services": "CC300",
    "office_supplies": "CC100",
    "facilities": "CC200",
}
"""The cost center (SUBACCOUNT value, seeded as a dimension: CC100 Finance, CC200
Purchasing, CC300 IT) each kind of purchase is booked on."""

LINE_TEXT = {
    "construction": ("Material", "Arbete", "Maskinhyra"),
    "freight": ("Frakt", "Tullhantering", "Bränsletillägg"),
    "consulting": ("Konsulttimmar", "Resekostnader", "Rapport"),
    "it_services": ("Licenser", "Support", "Drift och hosting"),
    "office_supplies": ("Papper", "Toner", "Kontorsmöbler"),
    "facilities": ("Städning", "Fönsterputs", "Förbrukningsmaterial"),
}

# (status, approvalStatus, weight): most invoices wait for approval, some are done.
STATUSES = (
    ("PendingApproval", "Pending", 30),
    ("Balanced", "Pending", 20),
    ("Open", "Approved", 25),
    ("Closed", "Approved", 15),
    ("OnHold", "Rejected", 10),
)


def country_of(company: str) -> Country:
    for code, country in COUNTRIES.items():
        if f"-{code.lower()}-" in f"-{company.lower()}-":
            return country
    return COUNTRIES["SE"]


def _rng(company: str, seed: int) -> random.Random:
    return random.Random(zlib.crc32(f"{seed}:{company}".encode()))


def make_suppliers(company: str, seed: int, count: int = 12) -> list[Supplier]:
    rng = _rng(company, seed)
    home = country_of(company)
    suppliers: list[Supplier] = []
    names: set[str] = set()
    clashes = 0
    while len(suppliers) < count:
        # About one supplier in six is foreign and bills in its own currency.
        country = home if rng.random() < 0.83 else rng.choice(list(COUNTRIES.values()))
        trade, category = rng.choice(country.trades)
        stem = rng.choice(country.stems)
        if clashes > 50:  # the name space is small; large ledgers get numbered branches
            stem = f"{stem} {len(suppliers) + 1}"
        name = f"{stem} {trade} {country.legal_form}"
        if name in names:
            clashes += 1
            continue
        names.add(name)
        n = len(suppliers)
        suppliers.append(
            Supplier(
                internal_id=1000 + n,
                number=str(10001 + n),
                name=name,
                category=category,
                country=country.code,
                currency_id=country.currency,
            )
        )
    return suppliers


def _amount(rng: random.Random) -> Decimal:
    # Log-uniform from 500 to 250,000: many small invoices, a few large ones.
    return money(math.exp(rng.uniform(math.log(500), math.log(250_000))))


def _lines(
    rng: random.Random, supplier: Supplier, net: Decimal, po_number: str | None
) -> list[InvoiceLine]:
    count = rng.randint(1, 3)
    texts = LINE_TEXT[supplier.category]
    amounts = [money(net / count) for _ in range(count - 1)]
    amounts.append(net - sum(amounts, Decimal(0)))
    lines = []
    for i, amount in enumerate(amounts, start=1):
        quantity = Decimal(rng.choice((1, 1, 2, 4, 10)))
        lines.append(
            InvoiceLine(
                line_number=i,
                description=texts[(i - 1) % len(texts)],
                quantity=quantity,
                unit_cost=money(amount / quantity),
                amount=amount,
                account_number=ACCOUNTS[supplier.category],
                po_number=po_number,
                subaccount=COST_CENTERS[supplier.category],
            )
        )
    return lines


def make_invoice(
    rng: random.Random, *, company: str, supplier: Supplier, reference: str, anchor: datetime
) -> Invoice:
    """One invoice modified within the 30 days before ``anchor``."""
    status, approval, _ = rng.choices(STATUSES, weights=[s[2] for s in STATUSES])[0]
    amount = _amount(rng)
    vat_rate = COUNTRIES[supplier.country].vat_rate
    vat = money(amount * vat_rate / (1 + vat_rate))
    modified = anchor - timedelta(seconds=rng.randint(60, 30 * 86400))
    created = modified - timedelta(seconds=rng.randint(0, 5 * 86400))
    day = created.date() - timedelta(days=rng.randint(0, 3))
    po = f"PO-{day.year}-{rng.randint(1, 999):05d}" if rng.random() < 0.85 else None
    return Invoice(
        company=company,
        reference_number=reference,
        status=status,
        approval_status=approval,
        supplier=supplier,
        invoice_date=day,
        due_date=day + timedelta(days=rng.choice((10, 14, 30, 30, 45))),
        currency_id=supplier.currency_id,
        amount=amount,
        vat_amount=vat,
        balance=Decimal("0.00") if status == "Closed" else amount,
        supplier_reference=f"F{rng.randint(10000, 99999)}",
        description=f"{supplier.name.rsplit(' ', 1)[0]} {day:%Y-%m}",
        lines=_lines(rng, supplier, amount - vat, po),
        created=created,
        last_modified=modified,
    )


def make_invoices(
    company: str,
    count: int,
    *,
    seed: int,
    anchor: datetime,
    suppliers: list[Supplier] | None = None,
) -> list[Invoice]:
    """``count`` invoices for one company, oldest created first (creation order)."""
    suppliers = suppliers or make_suppliers(company, seed)
    rng = _rng(company, seed + 1)
    drafts = [
        make_invoice(
            rng, company=company, supplier=rng.choice(suppliers), reference="", anchor=anchor
        )
        for _ in range(count)
    ]
    drafts.sort(key=lambda inv: inv.created)
    for n, invoice in enumerate(drafts):
        invoice.reference_number = str(100001 + n)
    return drafts
