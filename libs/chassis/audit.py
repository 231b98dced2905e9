"""The audit trail: every state transition of every record becomes an event on `audit.v1`.

Services call `AuditTrail.record(...)` at each transition (read from the source, routed,
sent, failed, retried, dead-lettered). Events are keyed by entity id so one entity's chain
stays in order on one partition; `mlc audit ID` reads them back by entity or external id.
Every event carries the build version of the process that wrote it, filled here and nowhere
else (`chassis.build_version`), so a replay shows which code acted.
How the bytes reach Kafka is injected, so a confluent-kafka producer and a faust app can both
write the same trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from chassis.build_version import build_version
from chassis.logcontext import current_correlation_id
from chassis.serde import AvroSerde
from chassis.topics import DAY_MS, TopicSpec

AUDIT_TOPIC = TopicSpec("audit.v1", partitions=3, retention_ms=400 * DAY_MS)
AUDIT_SCHEMA = "io.mlconnector.audit.AuditEvent"


class Stage(StrEnum):
    READ = "read"
    ROUTED = "routed"
    SKIPPED = "skipped"
    SENT = "sent"
    FAILED = "failed"
    RETRIED = "retried"
    DEAD_LETTERED = "dead_lettered"
    HELD = "held"


Publish = Callable[[str, bytes], Any]
"""Send one audit value with its key to the audit topic (a producer's produce, or a faust send)."""


class AuditTrail:
    def __init__(self, *, service: str, serde: AvroSerde, publish: Publish) -> None:
        self._service = service
        self._serde = serde
        self._publish = publish
        self._build_version = build_version()

    def event(
        self,
        stage: Stage,
        *,
        entity_id: str,
        event_id: str | None = None,
        command_id: str | None = None,
        external_id: str | None = None,
        detail: str | None = None,
    ) -> tuple[str, bytes]:
        """The key and encoded value of one audit event, for callers that send it themselves."""
        record = {
            "audit_id": uuid.uuid4().hex,
            "at": datetime.now(UTC),
            "service": self._service,
            "stage": stage.value,
            "entity_id": entity_id,
            "event_id": event_id,
            "command_id": command_id,
            "external_id": external_id,
            "detail": detail,
            "correlation_id": current_correlation_id(),
            "build_version": self._build_version,
        }
        return entity_id, self._serde.encode(AUDIT_SCHEMA, record)

    def record(self, stage: Stage, *, entity_id: str, **fields: str | None) -> Any:
        key, value = self.event(stage, entity_id=entity_id, **fields)
        return self._publish(key, value)
