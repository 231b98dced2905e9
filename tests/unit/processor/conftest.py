"""Builders shared by the processor unit tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from chassis.serde import AvroSerde, SchemaCatalog
from events import ChangeType, SupplierInvoice, SupplierInvoiceChanged
from processor.rules import RuleSet, parse_rules
from processor.schedule_state import MemoryStore

RULES_YAML = """\
rules:
  - name: large-invoices
    when:
      min_amount: {SEK: 50000, NOK: 50000, DKK: 40000, EUR: 5000}
    slack: {workspace: default, channel: ap-large}
  - name: all-invoices-nordic
    when:
      min_amount: {SEK: 10000, NOK: 10000, DKK: 8000, EUR: 1000}
    slack: {channel: ap-approvals}
    template: "{vendor} sent {amount} ({invoice_number})"
"""


def make_event(
    *,
    currency: str = "SEK",
    amount: str = "125000",
    entity_id: str = "Invoice:10042",
    last_modified: datetime = datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
    change_type: ChangeType = ChangeType.CREATED,
    **invoice: Any,
) -> SupplierInvoiceChanged:
    fields: dict[str, Any] = {
        "document_type": "Invoice",
        "reference_number": "10042",
        "supplier_name": "Acme AB",
        "po_reference": "PO-7",
        "due_date": date(2026, 3, 31),
    }
    fields.update(invoice)
    millis = int(last_modified.timestamp() * 1000)
    return SupplierInvoiceChanged(
        event_id=f"t1/c1/supplierInvoice/{entity_id}@{millis}",
        tenant_id="t1",
        company_id="c1",
        entity_id=entity_id,
        change_type=change_type,
        last_modified=last_modified,
        observed_at=datetime(2026, 3, 1, 8, 1, tzinfo=UTC),
        invoice=SupplierInvoice(currency=currency, amount=Decimal(amount), **fields),
    )


MakeEvent = Callable[..., SupplierInvoiceChanged]


@pytest.fixture
def make() -> MakeEvent:
    """Builds a SupplierInvoiceChanged; keyword arguments override the invoice's fields."""
    return make_event


@pytest.fixture
def rules() -> RuleSet:
    return parse_rules(RULES_YAML)


@pytest.fixture(scope="session")
def serde() -> AvroSerde:
    return AvroSerde(SchemaCatalog.load())


@pytest.fixture
def store() -> MemoryStore:
    """The scheduled work's state (reminders, digests) in memory."""
    return MemoryStore()
