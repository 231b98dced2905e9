"""What a consuming service writes to Kafka besides its own results: the audit trail and its
dead-letter topic, through one producer.

Every service on the consumer runner starts the same way: create its topics together with
`audit.v1` and its group's DLQ, open one producer, and publish the audit trail and the dead
letters through it. One constructor keeps that start identical everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from confluent_kafka.admin import AdminClient

from chassis.audit import AUDIT_TOPIC, AuditTrail
from chassis.kafka.dlq import DeadLetters
from chassis.kafka.held_keys import HOLDS_TOPIC
from chassis.kafka.producer import EventProducer
from chassis.registry import SchemaRegistryIds
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings, RegistrySettings
from chassis.topics import TopicSpec, dead_letter_topic, ensure_topics, redrive_topic

__all__ = ["ServiceOutputs", "serde_for", "service_outputs"]


@dataclass(frozen=True)
class ServiceOutputs:
    serde: AvroSerde
    producer: EventProducer
    """The service closes it when it stops, after its last send."""
    audit: AuditTrail
    dead_letters: DeadLetters


def service_outputs(
    settings: KafkaSettings, *, service: str, group_id: str, topics: Iterable[TopicSpec]
) -> ServiceOutputs:
    """Creates `topics`, the audit topic, `group_id`'s DLQ and its redrive topic (its runner
    reads it) and the held keys' topic, then the producer, audit trail and dead letters that
    write to them."""
    serde = serde_for(RegistrySettings())
    ensure_topics(
        AdminClient(settings.client_config(service)),
        [*topics, AUDIT_TOPIC, dead_letter_topic(group_id), redrive_topic(group_id), HOLDS_TOPIC],
        replication_factor=settings.replication_factor,
    )
    producer = EventProducer(settings, service)
    audit = AuditTrail(
        service=service,
        serde=serde,
        publish=lambda key, value: producer.send(AUDIT_TOPIC.name, key=key, value=value),
    )
    return ServiceOutputs(serde, producer, audit, DeadLetters(producer, group_id))


def serde_for(registry: RegistrySettings) -> AvroSerde:
    """The manifest's schemas, or with SCHEMA_REGISTRY_URL the registry's ids, and writer
    schemas fetched from it for ids a newer producer uses."""
    if not registry.schema_registry_url:
        return AvroSerde(SchemaCatalog.load())
    ids = SchemaRegistryIds(httpx.Client(base_url=registry.schema_registry_url, timeout=10.0))
    return AvroSerde(SchemaCatalog.load(ids=ids), writers=ids)
