"""Property: `route` never raises on any well-typed event, and its commands always encode."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chassis.serde import AvroSerde
from events import ChangeType, PostSlackMessage, SupplierInvoice, SupplierInvoiceChanged
from processor.routing import route
from processor.rules import RuleSet

pytestmark = pytest.mark.unit

text = st.text(max_size=40)
optional_text = st.none() | text
amounts = st.decimals(
    min_value=Decimal("-1e14"), max_value=Decimal("1e14"), places=4,
    allow_nan=False, allow_infinity=False,
)  # fmt: skip
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)

invoices = st.builds(
    SupplierInvoice,
    document_type=text,
    reference_number=text,
    status=optional_text,
    approval_status=optional_text,
    supplier_number=optional_text,
    supplier_name=optional_text,
    invoice_date=st.none() | st.dates(),
    due_date=st.none() | st.dates(),
    currency=st.sampled_from(["SEK", "NOK", "DKK", "EUR", "USD", "sek", ""]) | text,
    amount=amounts,
    vat_amount=st.none() | amounts,
    balance=st.none() | amounts,
    po_reference=optional_text,
    supplier_reference=optional_text,
    description=optional_text,
)

events = st.builds(
    SupplierInvoiceChanged,
    event_id=text,
    tenant_id=text,
    company_id=text,
    entity_type=st.sampled_from(["supplierInvoice", "purchaseOrder"]) | text,
    entity_id=text,
    change_type=st.sampled_from(ChangeType),
    last_modified=instants,
    etag=optional_text,
    observed_at=instants,
    invoice=invoices,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=events)
def test_route_never_raises(event: SupplierInvoiceChanged, rules: RuleSet,
                            serde: AvroSerde) -> None:  # fmt: skip
    commands = route(event, rules)
    assert len(commands) <= len(rules.rules)
    for command in commands:
        assert command.source_event_id == event.event_id
        assert isinstance(json.loads(command.blocks_json or "null"), list)
        _, record = serde.decode(serde.encode(PostSlackMessage.SCHEMA, command.to_record()))
        assert PostSlackMessage.from_record(record) == command
