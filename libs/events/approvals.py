"""Approval signals: a person's approve or reject gesture in Slack, tied to a Visma record.

The approvals service turns a reaction or a thread reply on a posted message into one
`ApprovalSignal`, whether or not the person may approve (`authorised` says, `reason` says
why not), so the trail of who tried what stays on Kafka. Only authorised signals become a
Visma action. `signal_id` is derived from the message, the person and the decision, so a
Slack retry, a redelivery or a reaction removed and added again is the same signal.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from chassis.topics import TopicSpec
from events._avro import AvroModel

APPROVAL_SIGNALS = TopicSpec("approval.signal.v1", partitions=6)


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class SignalSource(StrEnum):
    REACTION = "reaction"
    REPLY = "reply"


class ApprovalSignal(AvroModel):
    SCHEMA = "io.mlconnector.approval.ApprovalSignal"

    signal_id: str
    slack_event_id: str
    team_id: str
    channel_id: str
    message_ts: str
    user: str
    decision: Decision
    source: SignalSource
    gesture: str
    """The emoji name, or the reply's text (shortened)."""
    tenant_id: str
    company_id: str
    entity_type: str
    entity_id: str
    """The Visma entity key, as on the fact topic and in the audit trail."""
    posted_command_id: str
    """The command whose Slack message was reacted to (the ledger key)."""
    authorised: bool
    reason: str | None = None
    event_time: datetime
    created_at: datetime

    @property
    def key(self) -> str:
        """Signals about one Visma record stay in order, like its facts."""
        return self.entity_id
