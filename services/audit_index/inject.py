"""Composition root of the audit indexer; tests pass settings, never patches.

One consumer group reads `audit.v1` on the chassis runner into the SQLite index
(`index_file`). Records need no order by entity among themselves (the index sorts a chain by
time), so a partition is one ordering key: its queued records go to one handler call and one
transaction (`indexer`). The indexer writes no audit records of its own: indexing the audit
trail must not grow it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace

from confluent_kafka.admin import AdminClient

from audit_index.config import AuditIndexSettings
from audit_index.fresh_start import start_new_index_from_the_beginning
from audit_index.index_file import AuditIndexFile
from audit_index.indexer import AuditIndexer
from chassis.audit import AUDIT_TOPIC
from chassis.kafka.outputs import service_outputs
from chassis.kafka.producer import EventProducer
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.service import ConsumerService
from chassis.settings import KafkaSettings

SERVICE = "audit-index"


@dataclass
class AuditIndexApp(ConsumerService):
    runner: ConsumerRunner
    index: AuditIndexFile
    indexer: AuditIndexer
    producer: EventProducer
    start_over: Callable[[], bool]
    """Moves the group to the start of the trail if the index file is new (`fresh_start`)."""

    async def run(self) -> None:
        try:
            if self.index.size().records == 0:
                await asyncio.to_thread(self.start_over)
            await self.consume()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        self.producer.close()
        self.indexer.close()
        self.index.close()


def build(
    kafka: KafkaSettings, settings: AuditIndexSettings, *, instance_id: str | None = None
) -> AuditIndexApp:
    topic = replace(AUDIT_TOPIC, name=settings.topic_prefix + AUDIT_TOPIC.name)
    outputs = service_outputs(kafka, service=SERVICE, group_id=settings.group_id, topics=[topic])
    index = AuditIndexFile.for_writing(settings.path)
    indexer = AuditIndexer(index, batch_records=settings.batch_records)
    runner = ConsumerRunner(
        settings=kafka,
        config=RunnerConfig(
            group_id=settings.group_id,
            topics=(topic.name,),
            max_in_flight=4 * settings.batch_records,
            instance_id=instance_id,
        ),
        handler=indexer,
        serde=outputs.serde,
        dead_letters=outputs.dead_letters,
        ordering_key=lambda record: f"{record.topic}[{record.partition}]",
        batching=indexer.batching,
    )
    admin = AdminClient(kafka.client_config(SERVICE))
    return AuditIndexApp(
        runner=runner, index=index, indexer=indexer, producer=outputs.producer,
        start_over=lambda: start_new_index_from_the_beginning(
            admin, group=settings.group_id, topic=topic.name, partitions=topic.partitions
        ),
    )  # fmt: skip
