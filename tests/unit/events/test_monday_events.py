"""The Monday facts' keys put an item's changes and its link on the same partition number,
and the "Visma ID" text round-trips to the record it names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chassis.serde import AvroSerde, SchemaCatalog
from events.monday import (
    MONDAY_COLUMN_CHANGES,
    MONDAY_ITEMS,
    MondayColumnChanged,
    MondayItemLinked,
    VismaRecordRef,
)
from events.topics import ALL

pytestmark = pytest.mark.unit

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def change(**overrides: object) -> MondayColumnChanged:
    fields: dict[str, object] = {
        "tenant_id": "acme",
        "account_id": "9000001",
        "board_id": "1000000001",
        "item_id": "1000000042",
        "column_id": "status_receipt",
        "column_title": "Receipt",
        "column_type": "status",
        "value_text": "Received",
        "previous_text": "Pending",
        "changed_at": AT,
        "source": "webhook",
        "trigger_uuid": "c1f0",
        "visma_id": "1234567/purchaseOrder/PO-7",
        "received_at": AT,
    }
    return MondayColumnChanged.model_validate(fields | overrides)


def test_a_change_and_the_items_link_share_a_key() -> None:
    link = MondayItemLinked(
        tenant_id="acme", board_id="1000000001", item_id="1000000042",
        visma_id="1234567/purchaseOrder/PO-7", entity_type="purchaseOrder",
        entity_id="PO-7", company_id="1234567",
    )  # fmt: skip

    assert change().key == link.key == "1000000001/1000000042"
    assert MONDAY_COLUMN_CHANGES.partitions == MONDAY_ITEMS.partitions
    assert MONDAY_ITEMS.compacted
    assert not MONDAY_COLUMN_CHANGES.compacted
    assert {MONDAY_COLUMN_CHANGES, MONDAY_ITEMS} <= set(ALL)


def test_a_change_round_trips_through_its_schema() -> None:
    serde = AvroSerde(SchemaCatalog.load())
    sent = change(previous_text=None, account_id=None)

    name, record = serde.decode(serde.encode(sent.SCHEMA, sent.to_record()))

    assert name == "io.mlconnector.monday.MondayColumnChanged"
    assert MondayColumnChanged.from_record(record) == sent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234567/purchaseOrder/PO-7", VismaRecordRef("1234567", "purchaseOrder", "PO-7")),
        (" 1234567 / purchaseOrder / 123 ", VismaRecordRef("1234567", "purchaseOrder", "123")),
        ("", None),
        (None, None),
        ("PO-7", None),
        ("1234567/purchaseOrder/A:PO/7", VismaRecordRef("1234567", "purchaseOrder", "A:PO/7")),
        ("1234567/purchaseOrder", None),
        ("1234567//PO-7", None),
    ],
)
def test_the_visma_id_column_names_a_record_or_none(
    text: str | None, expected: VismaRecordRef | None
) -> None:
    assert VismaRecordRef.parse(text) == expected


def test_a_record_ref_prints_as_it_is_parsed() -> None:
    ref = VismaRecordRef("1234567", "purchaseOrder", "PO-7")

    assert VismaRecordRef.parse(str(ref)) == ref
