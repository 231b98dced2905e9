"""The writes back to Visma are commands like the others: schema, key and topic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chassis.serde import AvroSerde, SchemaCatalog
from events.command_topics import COMMAND_TOPICS, SINK_VISMA_WRITER
from events.commands import ApplyVismaAction
from events.visma_writes import RecordPurchaseReceipt

pytestmark = pytest.mark.unit

ORDER_KEY = "t1/c1/purchaseOrder/RegularOrder:PO-2026-90001"


def _receipt(**changes: object) -> RecordPurchaseReceipt:
    fields: dict[str, object] = {
        "command_id": "cmd-1",
        "tenant_id": "t1",
        "company_id": "c1",
        "order_number": "PO-2026-90001",
        "source_system": "monday",
        "source_ref": "4001/9001",
        "rule": "monday-receipts",
        "source_event_id": "evt-1",
        "entity_type": "purchaseOrder",
        "entity_id": ORDER_KEY,
        "created_at": datetime(2026, 12, 3, 2, 0, tzinfo=UTC),
    }
    return RecordPurchaseReceipt.model_validate(fields | changes)


def test_a_receipt_is_keyed_by_its_order_like_the_orders_own_fact() -> None:
    assert _receipt().key == ORDER_KEY


def test_receipts_travel_on_the_writers_topic_with_its_actions() -> None:
    assert COMMAND_TOPICS[RecordPurchaseReceipt] is SINK_VISMA_WRITER
    assert COMMAND_TOPICS[ApplyVismaAction] is SINK_VISMA_WRITER


def test_a_receipt_round_trips_through_its_registered_schema() -> None:
    serde = AvroSerde(SchemaCatalog.load())
    command = _receipt(requested_by="warehouse@example.com")

    name, decoded = serde.decode(serde.encode(command.SCHEMA, command.to_record()))

    assert name == "io.mlconnector.sink.RecordPurchaseReceipt"
    assert RecordPurchaseReceipt.from_record(decoded) == command
