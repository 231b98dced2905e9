"""The envelope every command carries, whichever sink it is for.

Its own module so that command families kept apart (`events.commands` for the outbound
sinks, `events.visma_writes` for the writes back to Visma) share one definition of the
provenance fields: tenant, rule, source event and the entity key the audit trail follows.
"""

from __future__ import annotations

from datetime import datetime

from events._avro import AvroModel


class CommandEnvelope(AvroModel):
    command_id: str
    tenant_id: str
    rule: str
    source_event_id: str
    entity_type: str
    entity_id: str
    created_at: datetime
