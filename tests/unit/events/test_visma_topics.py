"""One topic per Visma entity: named after it, reference data compacted, all declared."""

from __future__ import annotations

import pytest

from events import REFERENCE_ENTITIES, VISMA_EVENTS
from events.topics import ALL, VISMA_SUPPLIER_INVOICES, visma_topic

pytestmark = pytest.mark.unit


def test_each_entity_has_its_own_declared_topic() -> None:
    topics = {name: visma_topic(name) for name in VISMA_EVENTS}
    assert len({t.name for t in topics.values()}) == len(VISMA_EVENTS)
    assert set(topics.values()) <= set(ALL)
    assert len({t.name for t in ALL}) == len(ALL)


@pytest.mark.parametrize(
    ("entity", "topic"),
    [
        ("supplierInvoice", "visma.supplier-invoice.v1"),
        ("purchaseOrder", "visma.purchase-order.v1"),
        ("journalTransaction", "visma.journal-transaction.v1"),
        ("customerPayment", "visma.customer-payment.v1"),
        ("supplier", "visma.supplier.v1"),
        ("dimension", "visma.dimension.v1"),
    ],
)
def test_topic_names_are_the_kebab_entity(entity: str, topic: str) -> None:
    assert visma_topic(entity).name == topic
    assert visma_topic(entity).partitions == 6


def test_reference_entities_are_compacted_and_facts_are_not() -> None:
    expected = {"supplier", "customer", "employee", "account", "dimension"}
    assert expected == REFERENCE_ENTITIES
    for name in VISMA_EVENTS:
        assert visma_topic(name).compacted is (name in REFERENCE_ENTITIES)


def test_the_supplier_invoice_topic_is_unchanged() -> None:
    assert visma_topic("supplierInvoice") == VISMA_SUPPLIER_INVOICES


def test_an_unknown_entity_has_no_topic() -> None:
    with pytest.raises(ValueError, match="salesOrder"):
        visma_topic("salesOrder")
