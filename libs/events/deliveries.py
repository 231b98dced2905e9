"""The Slack delivery ledger's record: which Slack message each command became.

The slack-sink writes one entry per command to a compacted topic keyed by command id:
PENDING just before the post, DONE with where it landed after. Other services (approvals)
read it to match a reaction or a thread reply on (channel_id, ts) back to the record it
is about, without importing the sink.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from events._avro import AvroModel
from events.topics import STATE_SLACK_LEDGER

SLACK_LEDGER = STATE_SLACK_LEDGER
"""`state.slack-ledger.v2`: compacted, key = command_id, value = SinkDelivery."""


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DONE = "DONE"


class SinkDelivery(AvroModel):
    SCHEMA = "io.mlconnector.state.SinkDelivery"

    command_id: str
    sink: str
    status: DeliveryStatus
    destination: str
    """`workspace/channel` as the command named it."""
    external_id: str | None = None
    """Slack ts (kept from v1; equal to `ts` for a DONE Slack post)."""
    at: datetime
    channel_id: str | None = None
    """Slack's channel id from the chat.postMessage answer."""
    ts: str | None = None
    tenant_id: str | None = None
    company_id: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    rule: str | None = None
    digest: bool = False
    """The post was one digest message standing for several commands."""
    not_posted: bool = False
    """PENDING, and Slack refused the last attempt (429, a rejected token): nothing was
    posted, so the next attempt posts without asking Slack first."""
    thread_ts: str | None = None
    """The thread a reply went to; None for a top-level message (a document's own)."""
    approved_by: str | None = None
    """A confirmation reply's approver (Slack user id): the message of the thread it replied
    in shows "Approved by" them, and keeps showing it through later versions (v5)."""

    @property
    def posted(self) -> bool:
        """DONE with a known Slack message: (channel_id, ts) identifies it."""
        return self.status is DeliveryStatus.DONE and self.ts is not None
