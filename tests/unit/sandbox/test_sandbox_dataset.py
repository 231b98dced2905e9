from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sandbox.dataset import make_invoices, make_suppliers

pytestmark = pytest.mark.unit

ANCHOR = datetime(2026, 3, 2, tzinfo=UTC)


def test_same_seed_gives_the_same_dataset_and_another_seed_does_not() -> None:
    first = make_invoices("tenant-se-1", 50, seed=7, anchor=ANCHOR)
    again = make_invoices("tenant-se-1", 50, seed=7, anchor=ANCHOR)
    other = make_invoices("tenant-se-1", 50, seed=8, anchor=ANCHOR)
    assert first == again
    assert [i.amount for i in first] != [i.amount for i in other]


def test_invoices_look_like_a_nordic_ledger() -> None:
    invoices = make_invoices("tenant-no-1", 300, seed=1, anchor=ANCHOR)
    amounts = [i.amount for i in invoices]
    assert min(amounts) >= Decimal(500)
    assert max(amounts) <= Decimal(250_000)
    assert min(amounts) < Decimal(2000)
    assert max(amounts) > Decimal(50_000)
    assert {i.currency_id for i in invoices} <= {"SEK", "NOK", "DKK", "EUR"}
    assert Counter(i.currency_id for i in invoices).most_common(1)[0][0] == "NOK"
    with_po = [i for i in invoices if i.lines[0].po_number is not None]
    assert 0.7 < len(with_po) / len(invoices) < 0.95
    pos = [line.po_number for i in with_po for line in i.lines]
    assert all(po is not None and re.fullmatch(r"PO-\d{4}-\d{5}", po) for po in pos)
    for invoice in invoices:
        assert sum(line.amount for line in invoice.lines) + invoice.vat_amount == invoice.amount
        assert invoice.created <= invoice.last_modified <= ANCHOR
        assert invoice.due_date > invoice.invoice_date


def test_creation_order_follows_created_time() -> None:
    invoices = make_invoices("tenant-dk-1", 40, seed=3, anchor=ANCHOR)
    assert [i.created for i in invoices] == sorted(i.created for i in invoices)
    assert [i.reference_number for i in invoices] == [str(100001 + n) for n in range(40)]


def test_suppliers_carry_legal_forms_and_categories() -> None:
    suppliers = make_suppliers("tenant-se-1", 42)
    assert len({s.name for s in suppliers}) == len(suppliers)
    assert all(s.name.endswith((" AB", " AS", " A/S", " Oy")) for s in suppliers)
    assert sum(s.name.endswith(" AB") for s in suppliers) > len(suppliers) // 2
    assert all(s.category for s in suppliers)
