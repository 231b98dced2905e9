"""What people do in Slack that the connector reacts to: a reaction or a thread reply.

The ingress stores one `SlackEventReceived` per Slack event before acknowledging it, so
consumers (the approvals service) read Slack's activity from Kafka, never from HTTP.
Slack retries a delivery it thinks failed, and another ingress replica may take the retry,
so the same `event_id` can appear more than once on the topic: consumers de-duplicate by it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from chassis.topics import TopicSpec
from events._avro import AvroModel

SLACK_EVENTS = TopicSpec("slack.event.v1", partitions=6)

SlackEventType = Literal["reaction_added", "message"]


class SlackEventReceived(AvroModel):
    SCHEMA = "io.mlconnector.slack.SlackEventReceived"

    event_id: str
    """Slack's id for the delivery; a retry carries the same id."""
    team_id: str
    event_type: str
    """"reaction_added" or "message" (a thread reply): `SlackEventType`; a plain string in
    the schema so that a new kind of event is a new value, not a new schema version."""
    user: str | None = None
    channel: str
    message_ts: str
    """The message the event is about: the reacted-to message, or the thread's parent."""
    event_ts: str
    reaction: str | None = None
    text: str | None = None
    event_time: datetime
    received_at: datetime
    retry_num: int = 0

    @property
    def key(self) -> str:
        """Everything said about one Slack message stays in order on one partition."""
        return f"{self.team_id}/{self.channel}/{self.message_ts}"
