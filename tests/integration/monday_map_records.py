"""Visma supplier invoices written to a topic of their own, for the mapping wizard's
preview (its integration test and its terminal test)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from confluent_kafka.admin import AdminClient

from chassis.kafka.outputs import serde_for
from chassis.kafka.producer import EventProducer, confirm
from chassis.settings import KafkaSettings, RegistrySettings
from chassis.topics import TopicSpec, ensure_topics
from events import ChangeType, SupplierInvoice, SupplierInvoiceChanged


def invoice(number: str, *, modified: datetime, amount: str = "1250.50") -> SupplierInvoiceChanged:
    return SupplierInvoiceChanged(
        event_id=f"t1/c1/supplierInvoice/{number}@{int(modified.timestamp())}",
        tenant_id="t1",
        company_id="c1",
        entity_id=number,
        change_type=ChangeType.UPDATED,
        last_modified=modified,
        observed_at=modified,
        invoice=SupplierInvoice(
            document_type="Invoice",
            reference_number=number,
            supplier_name="Nordic Timber AB",
            currency="SEK",
            amount=Decimal(amount),
            due_date=date(2026, 3, 31),
            description="Pallets, March",
        ),
    )


def write_invoices(
    settings: KafkaSettings, topic: str, invoices: list[SupplierInvoiceChanged]
) -> None:
    ensure_topics(AdminClient(settings.client_config("test")), [TopicSpec(topic, partitions=3)])
    serde = serde_for(RegistrySettings())
    producer = EventProducer(settings, f"test-{uuid.uuid4().hex[:6]}")
    try:
        confirm([
            producer.send(topic, key=event.key,
                          value=serde.encode(event.SCHEMA, event.to_record()))
            for event in invoices
        ])  # fmt: skip
    finally:
        producer.close()


MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
