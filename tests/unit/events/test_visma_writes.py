"""The writes back to Visma are commands like the others: schema, key and topic."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chassis.serde import AvroSerde, SchemaCatalog
from events.command_topics import COMMAND_TOPICS, SINK_AIRBASE, SINK_VISMA_WRITER
from events.commands import ApplyVismaAction, MarkAirbaseEntrySynced, mark_synced_command_id
from events.visma_writes import (
    RecordPurchaseReceipt,
    RecordSupplierPayment,
    SupplierInvoiceLineWrite,
    SupplierPaymentAllocation,
    UpsertSupplier,
    UpsertSupplierInvoice,
    payment_reference,
)

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


def _supplier(**changes: object) -> UpsertSupplier:
    fields: dict[str, object] = {
        "command_id": "cmd-s1",
        "tenant_id": "t1",
        "company_id": "c1",
        "source_system": "bill",
        "source_id": "00901VEN1",
        "name": "Nordisk Kontor ApS",
        "vat_registration_id": "DK12345678",
        "corporate_id": "12345678",
        "currency_id": "DKK",
        "email": "ap@nordisk-kontor.dk",
        "address_line_1": "Vesterbrogade 1",
        "postal_code": "1620",
        "city": "København V",
        "country_id": "DK",
        "rule": "bill-vendors",
        "source_event_id": "evt-v1",
        "entity_type": "supplier",
        "entity_id": "t1/c1/supplier/bill:00901VEN1",
        "created_at": datetime(2026, 12, 3, 2, 0, tzinfo=UTC),
    }
    return UpsertSupplier.model_validate(fields | changes)


def _bill(**changes: object) -> UpsertSupplierInvoice:
    fields: dict[str, object] = {
        "command_id": "cmd-b1",
        "tenant_id": "t1",
        "company_id": "c1",
        "source_system": "bill",
        "source_id": "00n01BILL1",
        "source_vendor_id": "00901VEN1",
        "supplier_reference": "INV-7781",
        "invoice_date": date(2026, 11, 30),
        "due_date": date(2026, 12, 30),
        "currency_id": "DKK",
        "amount": Decimal("1250.5000"),
        "lines": [
            SupplierInvoiceLineWrite(
                description="Paper",
                amount=Decimal("1000.5"),
                account_number="6100",
                subaccount="100-20",
            ),
            SupplierInvoiceLineWrite(
                description="Toner", amount=Decimal("250"), account_number="6110"
            ),
        ],
        "rule": "bill-bills",
        "source_event_id": "evt-b1",
        "entity_type": "supplierInvoice",
        "entity_id": "t1/c1/supplierInvoice/bill:00n01BILL1",
        "created_at": datetime(2026, 12, 3, 2, 0, tzinfo=UTC),
    }
    return UpsertSupplierInvoice.model_validate(fields | changes)


def test_a_bill_is_keyed_by_its_vendor_like_the_vendors_supplier() -> None:
    assert _bill().key == _supplier().key == "t1/c1/vendor/bill:00901VEN1"
    assert _bill(source_vendor_id="OTHER").key != _supplier().key
    assert _supplier(company_id="c2").key != _supplier().key


def test_supplier_writes_travel_on_the_writers_topic() -> None:
    assert COMMAND_TOPICS[UpsertSupplier] is SINK_VISMA_WRITER
    assert COMMAND_TOPICS[UpsertSupplierInvoice] is SINK_VISMA_WRITER


@pytest.mark.parametrize(
    "command",
    [_supplier(), _supplier(supplier_number="20001", email=None), _bill(), _bill(due_date=None)],
    ids=["supplier", "matched-supplier", "bill", "bill-no-due-date"],
)
def test_supplier_writes_round_trip_through_their_registered_schemas(
    command: UpsertSupplier | UpsertSupplierInvoice,
) -> None:
    serde = AvroSerde(SchemaCatalog.load())

    name, decoded = serde.decode(serde.encode(command.SCHEMA, command.to_record()))

    assert name == command.SCHEMA
    assert type(command).from_record(decoded) == command


def _payment(**changes: object) -> RecordSupplierPayment:
    fields: dict[str, object] = {
        "command_id": "cmd-p1",
        "tenant_id": "t1",
        "company_id": "c1",
        "source_system": "airbase",
        "source_id": "le_42",
        "source_version": "v1",
        "supplier_number": "50012",
        "invoice_ref_nbr": "000123",
        "payment_reference": payment_reference("airbase", "le_42"),
        "currency_id": "SEK",
        "amount": Decimal("1250.50"),
        "payment_date": date(2026, 12, 2),
        "allocations": [
            SupplierPaymentAllocation(
                amount=Decimal("1000.50"), account_number="6110", subaccount="100-20"
            ),
            SupplierPaymentAllocation(
                amount=Decimal("250"), account_number="6120", description="Toner"
            ),
        ],
        "reply_to": "airbase",
        "rule": "airbase-payments",
        "source_event_id": "evt-p1",
        "entity_type": "supplierPayment",
        "entity_id": "t1/c1/supplierPayment/airbase:le_42",
        "created_at": datetime(2026, 12, 3, 2, 0, tzinfo=UTC),
    }
    return RecordSupplierPayment.model_validate(fields | changes)


def _mark(payment: RecordSupplierPayment) -> MarkAirbaseEntrySynced:
    return MarkAirbaseEntrySynced(
        command_id=mark_synced_command_id(payment.command_id),
        tenant_id=payment.tenant_id,
        entry_id=payment.source_id,
        visma_payment_number="000201",
        company_id=payment.company_id,
        rule=payment.rule,
        source_event_id=payment.source_event_id,
        entity_type=payment.entity_type,
        entity_id=payment.entity_id,
        created_at=payment.created_at,
    )


def test_a_payment_carries_its_airbase_reference_and_is_keyed_by_the_paid_invoice() -> None:
    payment = _payment()

    assert payment.payment_reference == "airbase:le_42"
    assert payment.document_type == "Invoice"
    assert payment.key == "t1/c1/supplierInvoice/000123"
    assert _payment(source_id="le_43").key == payment.key
    assert _payment(invoice_ref_nbr="000124").key != payment.key


def test_payments_go_to_the_writer_and_marks_to_the_airbase_sink_keyed_by_tenant() -> None:
    assert COMMAND_TOPICS[RecordSupplierPayment] is SINK_VISMA_WRITER
    assert COMMAND_TOPICS[MarkAirbaseEntrySynced] is SINK_AIRBASE
    assert _mark(_payment()).key == "t1"


def test_the_mark_id_follows_the_payment_command_and_nothing_else() -> None:
    first = mark_synced_command_id("cmd-p1")

    assert first == mark_synced_command_id("cmd-p1")
    assert first != mark_synced_command_id("cmd-p2")
    assert first != "cmd-p1"


@pytest.mark.parametrize(
    "command",
    [_payment(), _payment(reply_to=None, allocations=[]), _mark(_payment())],
    ids=["payment", "payment-no-reply", "mark-synced"],
)
def test_payment_commands_round_trip_through_their_registered_schemas(
    command: RecordSupplierPayment | MarkAirbaseEntrySynced,
) -> None:
    serde = AvroSerde(SchemaCatalog.load())

    name, decoded = serde.decode(serde.encode(command.SCHEMA, command.to_record()))

    assert name == command.SCHEMA
    assert type(command).from_record(decoded) == command
