"""Every matcher: a match, a miss, a missing fact (never a match, never an error), boundaries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from events import ChangeType, PurchaseOrder, PurchaseOrderChanged, SupplierInvoiceChanged
from processor import matchers as m
from processor.rules_facts import Facts, facts_of
from processor.rules_schema import BaseAmount, Due, When

pytestmark = pytest.mark.unit

MakeEvent = Callable[..., SupplierInvoiceChanged]
TODAY = date(2026, 3, 10)


@pytest.fixture
def facts(make: MakeEvent) -> Callable[..., Facts]:
    def build(enrichment: dict[str, str] | None = None, **kwargs: Any) -> Facts:
        return facts_of(make(**kwargs), enrichment=enrichment, today=TODAY)

    return build


def purchase_order(**fields: Any) -> Facts:
    event = PurchaseOrderChanged(
        event_id="e", tenant_id="t", company_id="c", entity_id="PO-1",
        change_type=ChangeType.UPDATED, last_modified=datetime(2026, 3, 1, tzinfo=UTC),
        observed_at=datetime(2026, 3, 1, tzinfo=UTC),
        purchase_order=PurchaseOrder(order_type="RO", order_number="PO-1", **fields),
    )  # fmt: skip
    return facts_of(event, today=TODAY)


def test_entity_type(facts: Callable[..., Facts]) -> None:
    assert m.entity_type({"supplierInvoice"}, facts())
    assert not m.entity_type({"purchaseOrder"}, facts())
    assert m.entity_type({"purchaseOrder", "supplierInvoice"}, purchase_order())


def test_change_type(facts: Callable[..., Facts]) -> None:
    assert m.change_type({ChangeType.CREATED}, facts())
    assert not m.change_type({ChangeType.UPDATED, ChangeType.DELETED}, facts())


@pytest.mark.parametrize(
    ("amount", "currency", "at_least", "below"),
    [("50000", "SEK", True, False), ("49999.9999", "SEK", False, True),
     ("50000", "sek", True, False), ("50000", "EUR", False, False)],
)  # fmt: skip
def test_min_and_max_amount_boundaries(
    facts: Callable[..., Facts], amount: str, currency: str, at_least: bool, below: bool
) -> None:
    limits = {"SEK": Decimal(50000)}
    assert m.min_amount(limits, facts(amount=amount, currency=currency)) is at_least
    assert m.max_amount(limits, facts(amount=amount, currency=currency)) is below


def test_amount_matchers_on_an_entity_without_amount() -> None:
    no_amount = purchase_order(currency="SEK")
    assert not m.min_amount({"SEK": Decimal(0)}, no_amount)
    assert not m.max_amount({"SEK": Decimal(10)}, no_amount)
    band = BaseAmount(base_currency="SEK", rates={}, min=Decimal(0))
    assert not m.amount_in_base(band, no_amount)
    assert m.min_amount({"SEK": Decimal(100)}, purchase_order(currency="SEK", order_total=100))


def test_amount_in_base_converts_with_the_configured_rate(facts: Callable[..., Facts]) -> None:
    band = BaseAmount(base_currency="SEK", rates={"EUR": Decimal("11.25")},
                      min=Decimal(50000), max=Decimal(100000))  # fmt: skip
    eur = facts(currency="EUR", amount="4444.45")  # 50,000.06 SEK
    assert m.in_base(band, eur) == Decimal("50000.0625")
    assert m.amount_in_base(band, eur)
    assert not m.amount_in_base(band, facts(currency="EUR", amount="4444.44"))  # 49,999.95
    assert m.amount_in_base(band, facts(currency="SEK", amount="50000"))  # base: rate 1, min in
    assert not m.amount_in_base(band, facts(currency="SEK", amount="100000"))  # max excluded
    assert not m.amount_in_base(band, facts(currency="USD", amount="60000"))  # no rate


def test_approval_status(facts: Callable[..., Facts]) -> None:
    assert m.approval_status({"pending"}, facts(approval_status=" Pending "))
    assert not m.approval_status({"Approved"}, facts(approval_status="Pending"))
    assert not m.approval_status({"Pending"}, facts())  # missing


def test_supplier(facts: Callable[..., Facts]) -> None:
    assert m.supplier({"70001"}, facts(supplier_number="70001"))
    assert not m.supplier({"70001"}, facts(supplier_number="70002"))
    assert not m.supplier({"70001"}, facts())


def test_vendor_category_comes_from_enrichment(facts: Callable[..., Facts]) -> None:
    assert m.vendor_category({"logistics"}, facts({"vendor_category": "Logistics"}))
    assert not m.vendor_category({"IT"}, facts({"vendor_category": "Logistics"}))
    assert not m.vendor_category({"IT"}, facts())


def test_dimension_from_enrichment_or_payload(facts: Callable[..., Facts]) -> None:
    wanted = {"cost_center": {"CC100"}, "project": {"P-1", "P-2"}}
    assert m.dimension(wanted, facts({"cost_center": "CC100", "project": "P-2"}))
    assert not m.dimension(wanted, facts({"cost_center": "CC100"}))  # project missing
    assert not m.dimension(wanted, facts({"cost_center": "CC200", "project": "P-1"}))
    assert m.dimension({"po_reference": {"PO-7"}}, facts())  # a payload field


@pytest.mark.parametrize(
    ("due_date", "overdue", "within_3"),
    [(date(2026, 3, 9), True, False), (date(2026, 3, 10), False, True),
     (date(2026, 3, 13), False, True), (date(2026, 3, 14), False, False)],
)  # fmt: skip
def test_due(facts: Callable[..., Facts], due_date: date, overdue: bool, within_3: bool) -> None:
    event = facts(due_date=due_date)
    assert m.due(Due(overdue=True), event) is overdue
    assert m.due(Due(overdue=False), event) is not overdue
    assert m.due(Due(within_days=3), event) is within_3


def test_due_without_a_due_date_never_matches(facts: Callable[..., Facts]) -> None:
    for condition in (Due(overdue=True), Due(overdue=False), Due(within_days=30)):
        assert not m.due(condition, facts(due_date=None))
        assert not m.due(condition, purchase_order())


def test_evaluate_reports_the_first_failing_condition(facts: Callable[..., Facts]) -> None:
    when = When.model_validate(
        {"min_amount": {"SEK": "1"}, "approval_status": "Approved", "due": {"overdue": True}}
    )
    event = facts(approval_status="Pending", due_date=date(2026, 1, 1))
    assert list(m.evaluate(when, event)) == [
        ("entity_type", True), ("change_type", True), ("min_amount", True),
        ("approval_status", False), ("due", True),
    ]  # fmt: skip
    assert m.first_failure(when, event) == "approval_status"
    assert not m.matches(when, event)
    assert m.first_failure(When(), event) is None
