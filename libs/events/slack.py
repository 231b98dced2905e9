"""Commands for the Slack sink."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from events._avro import AvroModel


class OnChange(StrEnum):
    """What a later version of a document does where the channel already shows it."""

    UPDATE = "update"
    """One message per document per channel: the later version updates it in place."""
    THREAD = "thread"
    """The later version is posted as a reply in the document's message's thread."""
    POST = "post"
    """Always a new message (reminders, digests, thread replies, producers before v3)."""


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
    on_change: OnChange = OnChange.POST
    approved_by: str | None = None
    """On an approval's confirmation (a reply): the approver's Slack user id, which the sink
    shows on the document's message the reply is in the thread of (v4)."""

    @property
    def key(self) -> str:
        """The rate-limit domain: one channel in one workspace."""
        return f"{self.workspace}/{self.channel}"
