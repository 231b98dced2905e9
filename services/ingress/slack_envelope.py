"""Slack Events API envelopes read into what the connector acts on, no I/O.

Only two things matter downstream: a reaction on a message, and a human's reply in a
thread. Everything else Slack sends (other event types, bots' own messages, edits, a
reaction on a file) is acknowledged and dropped; the route counts those. A thread reply is
a `message` whose `thread_ts` differs from its own `ts`: Slack often leaves out the
`message_replied` subtype over the Events API, so the subtype is not relied on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from events.slack_events import SlackEventReceived, SlackEventType
from ingress.errors import RejectedNotificationError
from ingress.fields import (
    EpochSeconds,
    MessageText,
    Name,
    OptionalName,
    OptionalStamp,
    RetryNumber,
    first_problem,
)

# A broadcast reply ("also send to channel") is still a reply; other subtypes are edits,
# deletions, joins and bot posts.
REPLY_SUBTYPES = frozenset({None, "thread_broadcast"})


@dataclass(frozen=True)
class Challenge:
    """A url_verification request: answer with its challenge."""

    value: str


@dataclass(frozen=True)
class Ignored:
    """A signed event the connector does not act on."""

    event_id: str | None
    reason: str


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Item(_Lenient):
    type: OptionalName = None
    channel: OptionalName = None
    ts: OptionalStamp = None


class _Event(_Lenient):
    type: Name
    subtype: OptionalName = None
    user: OptionalName = None
    bot_id: OptionalName = None
    channel: OptionalName = None
    ts: OptionalStamp = None
    thread_ts: OptionalStamp = None
    event_ts: OptionalStamp = None
    text: MessageText = None
    reaction: OptionalName = None
    item: _Item | None = None


class _Envelope(_Lenient):
    """Every field the connector reads, bounded; the rest of Slack's envelope is ignored."""

    type: Name
    challenge: OptionalName = None
    event_id: Name | None = None
    team_id: Name | None = None
    event_time: EpochSeconds | None = None
    event: _Event | None = None


@dataclass(frozen=True)
class _Delivery:
    event_id: str
    team_id: str
    event_time: datetime
    received_at: datetime
    retry_num: int


def read_envelope(
    body: bytes, *, retry_num: RetryNumber = 0, received_at: datetime | None = None
) -> Challenge | Ignored | SlackEventReceived:
    """What a signed request body asks for; a 400 refusal when it is not a usable envelope."""
    envelope = _parse(body)
    if envelope.type == "url_verification":
        if not envelope.challenge:
            raise RejectedNotificationError(400, "url_verification without a challenge")
        return Challenge(envelope.challenge)
    if envelope.type != "event_callback":
        return Ignored(envelope.event_id, f"envelope type {envelope.type}")
    if envelope.event_id is None or envelope.team_id is None or envelope.event is None:
        raise RejectedNotificationError(400, "event_callback needs event_id, team_id and event")
    received_at = received_at or datetime.now(UTC)
    delivery = _Delivery(
        event_id=envelope.event_id,
        team_id=envelope.team_id,
        event_time=(
            datetime.fromtimestamp(envelope.event_time, UTC)
            if envelope.event_time is not None
            else received_at
        ),
        received_at=received_at,
        retry_num=retry_num,
    )
    return _translate(envelope.event, delivery)


def _parse(body: bytes) -> _Envelope:
    try:
        return _Envelope.model_validate_json(body)
    except ValidationError as exc:
        raise first_problem(exc) from None


def _translate(event: _Event, delivery: _Delivery) -> SlackEventReceived | Ignored:
    if event.type == "reaction_added":
        return _reaction(event, delivery)
    if event.type == "message":
        return _thread_reply(event, delivery)
    return Ignored(delivery.event_id, f"event type {event.type}")


def _reaction(event: _Event, delivery: _Delivery) -> SlackEventReceived | Ignored:
    item = event.item
    if item is None or item.type != "message" or not item.channel or not item.ts:
        return Ignored(delivery.event_id, "reaction not on a message")
    if not event.reaction:
        raise RejectedNotificationError(400, "reaction_added without a reaction")
    return _received(
        delivery, event, event_type="reaction_added", channel=item.channel, message_ts=item.ts
    )


def _thread_reply(event: _Event, delivery: _Delivery) -> SlackEventReceived | Ignored:
    if event.bot_id is not None or event.subtype not in REPLY_SUBTYPES:
        return Ignored(delivery.event_id, f"message from a bot or of subtype {event.subtype}")
    if not event.thread_ts or event.thread_ts == event.ts or not event.channel:
        return Ignored(delivery.event_id, "message not in a thread")
    return _received(
        delivery, event, event_type="message", channel=event.channel, message_ts=event.thread_ts
    )


def _received(
    delivery: _Delivery,
    event: _Event,
    *,
    event_type: SlackEventType,
    channel: str,
    message_ts: str,
) -> SlackEventReceived:
    return SlackEventReceived(
        event_id=delivery.event_id,
        team_id=delivery.team_id,
        event_type=event_type,
        user=event.user,
        channel=channel,
        message_ts=message_ts,
        event_ts=event.event_ts or event.ts or message_ts,
        reaction=event.reaction if event_type == "reaction_added" else None,
        text=event.text if event_type == "message" else None,
        event_time=delivery.event_time,
        received_at=delivery.received_at,
        retry_num=delivery.retry_num,
    )
