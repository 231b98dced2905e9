"""Notifications that something changed at a source: a reason to pull, not the change itself."""

from __future__ import annotations

from datetime import datetime

from chassis.topics import TopicSpec
from events._avro import AvroModel

VISMA_NOTIFICATIONS = TopicSpec("visma.notification.v1", partitions=6)


class VismaNotificationReceived(AvroModel):
    SCHEMA = "io.mlconnector.visma.VismaNotificationReceived"

    notification_id: str
    tenant_id: str
    company_id: str
    entity_type: str
    entity_id: str | None = None
    event: str | None = None
    occurred_at: str | None = None
    received_at: datetime

    @property
    def key(self) -> str:
        """One company's notifications stay in order on one partition."""
        return f"{self.tenant_id}/{self.company_id}"
