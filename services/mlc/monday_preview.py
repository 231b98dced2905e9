"""One real Visma record for the mapping wizard to show in the board's columns.

The record is the newest the Visma source wrote to its topic (`visma.<entity>.v1`), read
from the last few offsets of each partition only, and turned into the same fields the
processor sends the monday-sink (`processor.item_fields`): what the person sees is what the
sink will write. No record (an empty topic, no broker) is no reason to stop the wizard: it
says why and maps without a preview.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaException

from chassis.kafka.outputs import serde_for
from chassis.kafka.state import StateLoadError, iter_to_end
from chassis.serde import SerdeError
from chassis.settings import KafkaSettings, RegistrySettings
from events.visma_entities import VISMA_EVENTS
from processor.item_fields import item_fields
from processor.routing import entity_label
from processor.rules_facts import facts_of

__all__ = ["Preview", "newest_record"]

CLIENT = "mlc-monday-map"
TAIL = 20
"""Offsets read from the end of each partition: enough to pass a few transaction markers."""
BROKER_WAIT_SECONDS = 5.0
"""How long a person waits for the broker before mapping without a preview."""


@dataclass(frozen=True)
class Preview:
    """A record's fields as the sink gets them, or why there is none."""

    fields: dict[str, str]
    source: str
    """Where it came from, for people: `visma.supplier-invoice.v1: c1/supplierInvoice/42`."""

    @property
    def found(self) -> bool:
        return bool(self.fields)


def newest_record(settings: KafkaSettings, topic: str) -> Preview:
    """The newest record on the topic (by its last-modified time), as item fields."""
    serde = serde_for(RegistrySettings())
    newest = None
    try:
        records = iter_to_end(
            settings, topic, client=CLIENT, tail=TAIL, metadata_timeout=BROKER_WAIT_SECONDS
        )
        for _, value in records:
            record = serde.decode(value)[1]
            event = VISMA_EVENTS[record["entity_type"]].from_record(record)
            if newest is None or event.last_modified >= newest.last_modified:
                newest = event
    except (KafkaException, StateLoadError, SerdeError, KeyError) as exc:
        return Preview({}, f"no preview: cannot read {topic}: {exc}")
    if newest is None:
        return Preview({}, f"no preview: {topic} holds no Visma record yet")
    fields = item_fields(facts_of(newest), label=entity_label(newest.entity_type))
    return Preview(fields, f"{topic}: {fields['visma_id']}")
