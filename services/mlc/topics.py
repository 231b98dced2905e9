"""`mlc topics`: create every declared topic, as each service also does at start."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient

from chassis.settings import KafkaSettings
from chassis.topics import ensure_topics
from events.topics import ALL


def create_topics() -> int:
    settings = KafkaSettings()
    ensure_topics(
        AdminClient(settings.client_config("mlc-topics")),
        ALL,
        replication_factor=settings.replication_factor,
    )
    for spec in ALL:
        kind = "compacted" if spec.compacted else f"retention {spec.retention_ms // 86_400_000} d"
        print(f"{spec.name:32} {spec.partitions:3} partitions  {kind}")
    return 0
