"""CommandLedger on the real broker: written entries survive into a fresh ledger's load."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from confluent_kafka.admin import AdminClient

from chassis.kafka.ledger import CommandLedger
from chassis.kafka.producer import EventProducer
from chassis.kafka.state import StateLoadError
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from events.deliveries import DeliveryStatus, SinkDelivery

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())


def entry(command_id: str, status: DeliveryStatus, etag: str) -> SinkDelivery:
    return SinkDelivery(
        command_id=command_id, sink="visma-writer", status=status, destination="c1",
        external_id=etag, at=datetime.now(UTC), entity_id="t1/c1/supplierInvoice/Invoice:1",
    )  # fmt: skip


def test_a_fresh_ledger_loads_the_newest_entry_of_every_command(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.ledger.{unique}"
    ensure_topics(AdminClient(settings.client_config("t")), [TopicSpec(topic, 3, compacted=True)])
    producer = EventProducer(settings, "t")

    def ledger() -> CommandLedger[SinkDelivery]:
        return CommandLedger(
            SinkDelivery, topic=topic, producer=producer, serde=SERDE, client=f"t-{unique}"
        )

    first = ledger()

    async def write() -> None:
        await first.write_all(
            [entry("a", DeliveryStatus.PENDING, "7001"), entry("a", DeliveryStatus.DONE, "7002")],
            partition=0,
        )
        await first.write(entry("b", DeliveryStatus.PENDING, "9001"), partition=2)

    asyncio.run(write())
    written = first.get("a")
    assert written is not None
    assert (written.status, written.external_id) == (DeliveryStatus.DONE, "7002")

    second = ledger()
    assert second.load(settings, [0, 1, 2]) == 2
    loaded_a, loaded_b = second.get("a"), second.get("b")
    assert loaded_a is not None
    assert loaded_b is not None
    assert (loaded_a.status, loaded_a.external_id) == (DeliveryStatus.DONE, "7002")
    assert (loaded_b.status, loaded_b.external_id) == (DeliveryStatus.PENDING, "9001")
    assert loaded_a.entity_id == "t1/c1/supplierInvoice/Invoice:1"
    assert second.get("c") is None
    assert sorted(e.command_id for e in second.entries()) == ["a", "b"]

    producer.send(topic, key="broken", value=b"not avro", partition=1)
    producer.flush()
    with pytest.raises(StateLoadError, match="broken"):
        ledger().load(settings, [1])
    producer.close()
