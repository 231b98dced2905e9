"""Commands for the Slack sink."""

from __future__ import annotations

from datetime import datetime

from events._avro import AvroModel


class PostSlackMessage(AvroModel):
    SCHEMA = "io.mlconnector.sink.PostSlackMessage"

    command_id: str
    tenant_id: str
    workspace: str
    channel: str
    text: str
    blocks_json: str | None = None
    rule: str
    source_event_id: str
    entity_type: str
    entity_id: str
    created_at: datetime
    company_id: str | None = None
    mention_emails: list[str] = []
    """Approvers to mention: the sink maps each email to a Slack user id (users.lookupByEmail)."""
    thread_ts: str | None = None
    """Post as a reply in this thread (approval confirmations); a reply is never digested."""

    @property
    def key(self) -> str:
        """The rate-limit domain: one channel in one workspace."""
        return f"{self.workspace}/{self.channel}"
