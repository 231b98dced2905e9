"""The mapping wizard's preview record: the newest Visma record on the source topic, as the
fields the processor sends the monday-sink; an empty topic is said, not an error."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from confluent_kafka.admin import AdminClient

from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from mlc.monday_preview import newest_record
from tests.integration.monday_map_records import MARCH, invoice, write_invoices

pytestmark = pytest.mark.integration


def test_the_newest_record_by_last_modified_is_previewed_as_item_fields(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.monday-preview.{unique}"
    write_invoices(settings, topic, [
        invoice("INV-2", modified=MARCH + timedelta(hours=2), amount="75"),
        invoice("INV-1", modified=MARCH),  # written last, but older
    ])  # fmt: skip

    preview = newest_record(settings, topic)

    assert preview.found
    assert preview.source == f"{topic}: c1/supplierInvoice/INV-2"
    assert preview.fields["reference_number"] == "INV-2"
    assert preview.fields["amount"] == "75.00"  # as the processor displays money
    assert preview.fields["visma_id"] == "c1/supplierInvoice/INV-2"
    assert preview.fields["label"] == "Supplier invoice"


def test_an_empty_topic_gives_no_preview_and_says_so(kafka_bootstrap: str, unique: str) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"test.monday-preview-empty.{unique}"
    ensure_topics(AdminClient(settings.client_config("test")), [TopicSpec(topic, partitions=1)])

    preview = newest_record(settings, topic)

    assert not preview.found
    assert preview.source == f"no preview: {topic} holds no Visma record yet"


def test_no_broker_gives_no_preview_within_seconds() -> None:
    started = time.monotonic()

    preview = newest_record(KafkaSettings(bootstrap_servers="127.0.0.1:1"), "visma.x.v1")

    assert not preview.found
    assert preview.source.startswith("no preview: cannot read visma.x.v1: ")
    assert time.monotonic() - started < 15  # the broker wait is 5 s, not the 30 s of a load
