"""`mlc topics`: create every declared topic, as each service also does at start.

An operator runs it before a first deploy or to check a cluster, so it must know every topic
a service reads or writes: the facts, state and audit topics, and each sink's command topic.
"""

from __future__ import annotations

from confluent_kafka.admin import AdminClient

from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from events.command_topics import COMMAND_TOPICS
from events.topics import ALL


def declared_topics() -> list[TopicSpec]:
    """Every declared topic once, in declaration order (the sink command topics included)."""
    unique = {spec.name: spec for spec in (*ALL, *COMMAND_TOPICS.values())}
    return list(unique.values())


def create_topics(admin: AdminClient | None = None) -> int:
    settings = KafkaSettings()
    topics = declared_topics()
    ensure_topics(
        admin or AdminClient(settings.client_config("mlc-topics")),
        topics,
        replication_factor=settings.replication_factor,
    )
    for spec in topics:
        kind = "compacted" if spec.compacted else f"retention {spec.retention_ms // 86_400_000} d"
        print(f"{spec.name:32} {spec.partitions:3} partitions  {kind}")
    return 0
