"""Composition root of the audit indexer; tests pass settings, never patches.

One consumer group reads `audit.v1` on the chassis runner into the SQLite index
(`index_file`). Records need no order among themselves (the index sorts a chain by time), so
each is its own ordering key and a whole fetch goes into one transaction. The indexer writes
no audit records of its own: indexing the audit trail must not grow it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from audit_index.config import AuditIndexSettings
from audit_index.group_commit import GroupCommit
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
    commits: GroupCommit
    producer: EventProducer

    async def aclose(self) -> None:
        self.producer.close()
        self.index.close()


def build(
    kafka: KafkaSettings, settings: AuditIndexSettings, *, instance_id: str | None = None
) -> AuditIndexApp:
    topic = replace(AUDIT_TOPIC, name=settings.topic_prefix + AUDIT_TOPIC.name)
    outputs = service_outputs(kafka, service=SERVICE, group_id=settings.group_id, topics=[topic])
    index = AuditIndexFile.for_writing(settings.path)
    commits = GroupCommit(
        index.add, max_records=settings.batch_records, max_wait=settings.batch_wait_seconds
    )
    runner = ConsumerRunner(
        settings=kafka,
        config=RunnerConfig(
            group_id=settings.group_id,
            topics=(topic.name,),
            max_in_flight=2 * settings.batch_records,
            instance_id=instance_id,
        ),
        handler=AuditIndexer(commits),
        serde=outputs.serde,
        dead_letters=outputs.dead_letters,
        ordering_key=lambda record: record.position,
    )
    return AuditIndexApp(runner=runner, index=index, commits=commits, producer=outputs.producer)
