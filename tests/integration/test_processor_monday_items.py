"""A real `python -m processor` routes GL accounts and dimensions (read from their compacted
reference topics) and customer invoices to Monday boards, each command carrying the record's
Visma id and fields: what `tests/unit/processor/test_processor_monday_items.py` computes,
delivered through Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer

from events import (
    Account,
    AccountChanged,
    ChangeType,
    CustomerInvoice,
    CustomerInvoiceChanged,
    Dimension,
    DimensionChanged,
    VismaEntityChanged,
)
from events.commands import CreateMondayItem
from processor.routing import route_all
from processor.rules import parse_rules
from tests.integration.processor_run import SERDE, Run, processor_run

pytestmark = pytest.mark.integration

RULES = """\
rules:
  - name: collections
    when: {entity_type: customerInvoice}
    targets:
      - monday: {board: 222}
  - name: reference
    when: {entity_type: [account, dimension]}
    targets:
      - monday: {board: 444}
"""
AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def run(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Run]:
    with processor_run(kafka_bootstrap, tmp_path, name="monday") as r:
        yield r


def _event(model: type[VismaEntityChanged], entity_id: str, payload: Any) -> VismaEntityChanged:
    return model(
        event_id=f"t1/c1/{model.canonical_type()}/{entity_id}@1", tenant_id="t1",
        company_id="c1", entity_id=entity_id, change_type=ChangeType.UPDATED,
        last_modified=AT, observed_at=AT, **{model.payload_field(): payload},
    )  # fmt: skip


def _monday_commands(run: Run, want: int) -> list[CreateMondayItem]:
    run.commands(want, timeout=120)  # waits until the processor committed them all
    consumer = Consumer({"bootstrap.servers": run.kafka, "group.id": uuid.uuid4().hex,
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                         "enable.partition.eof": True})  # fmt: skip
    consumer.subscribe([run.settings.command_topic(CreateMondayItem)])
    found: list[CreateMondayItem] = []
    try:
        while len(found) < want:
            for message in consumer.consume(num_messages=100, timeout=1.0):
                if message.error() is None:
                    found.append(CreateMondayItem.from_record(SERDE.decode(message.value())[1]))
    finally:
        consumer.close()
    return found


def test_reference_data_and_customer_invoices_reach_their_boards_with_their_fields(
    run: Run,
) -> None:
    events = [
        _event(AccountChanged, "1930", Account(account_code="1930", description="Bank")),
        _event(DimensionChanged, "DEPARTMENT/1/SALES",
               Dimension(dimension_id="DEPARTMENT", segment_id=1, value_id="SALES")),
        _event(CustomerInvoiceChanged, "Invoice:7001", CustomerInvoice(
            document_type="Invoice", reference_number="7001", due_date=date(2026, 2, 20),
            currency="NOK", amount=Decimal("4200.5"), balance=Decimal("4200.5"))),
    ]  # fmt: skip
    run.rules_path.write_text(RULES)
    expected = [c for e in events for c in route_all(e, parse_rules(RULES))]
    assert len(expected) == 3
    run.produce(events)
    run.start()

    found = _monday_commands(run, len(expected))

    by_id = {c.visma_id: c for c in found}
    assert sorted(by_id) == [
        "c1/account/1930", "c1/customerInvoice/Invoice:7001", "c1/dimension/DEPARTMENT/1/SALES",
    ]  # fmt: skip
    assert sorted(found, key=lambda c: c.command_id) == sorted(expected, key=lambda c: c.command_id)
    assert by_id["c1/customerInvoice/Invoice:7001"].fields["days_overdue"] == "9"
    assert by_id["c1/account/1930"].board_id == "444"
