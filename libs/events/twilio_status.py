"""What Twilio says happened to a message it was asked to send: its status callbacks.

The ingress stores one `TwilioMessageStatus` per signed callback before acknowledging it,
keyed by the message SID, so everything said about one message stays in order on one
partition. Twilio repeats callbacks and sends them out of order (a `delivered` can arrive
before its `sent`), so the order on the topic is not the message's history: consumers keep
the most advanced status (`advances`) and each (message, status) transition once.
"""

from __future__ import annotations

from datetime import datetime

from chassis.topics import TopicSpec
from events._avro import AvroModel

TWILIO_MESSAGE_STATUSES = TopicSpec("twilio.message-status.v1", partitions=6)
STATE_TWILIO_MESSAGE_STATUS = TopicSpec(
    "state.twilio-message-status.v1", partitions=6, compacted=True
)
"""Compacted, key = message SID, value = TwilioMessageState; as many partitions as
`twilio.message-status.v1`, so a SID's state sits in the partition number of its callbacks."""

# Twilio's outbound message lifecycle (Message resource, message_enum_status). A Messaging
# Service starts a message as accepted or scheduled, then queued; sending and sent follow;
# the end is delivered, undelivered, failed or canceled, and a WhatsApp message can still
# be read after it was delivered. No end state ever goes back to an earlier one.
STATUS_RANK: dict[str, int] = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "partially_delivered": 4,
    "read": 5,
}
FINAL_RANK = 4
"""From this rank on a status is an end state: nothing of the same rank replaces it."""


def is_final(status: str) -> bool:
    return STATUS_RANK.get(status, -1) >= FINAL_RANK


def advances(current: str | None, new: str) -> bool:
    """Whether `new` is a more advanced status than `current` (None: nothing known yet).

    A status Twilio adds later (or an inbound one) is unknown here: it never replaces a
    known one, so a late or strange callback cannot move a message backwards. Among end
    states the first one stays (a `failed` is not turned into `delivered`), except that a
    delivered message can be read.
    """
    rank = STATUS_RANK.get(new)
    if rank is None:
        return False
    if current is None:
        return True
    if is_final(current):
        return current == "delivered" and new == "read"
    return rank > STATUS_RANK.get(current, -1)


class TwilioMessageStatus(AvroModel):
    SCHEMA = "io.mlconnector.twilio.TwilioMessageStatus"

    message_sid: str
    account_sid: str
    status: str
    """MessageStatus as Twilio sent it; a plain string so a new status is a new value."""
    error_code: int | None = None
    error_message: str | None = None
    to: str | None = None
    from_number: str | None = None
    messaging_service_sid: str | None = None
    received_at: datetime

    @property
    def key(self) -> str:
        return self.message_sid

    @property
    def transition_id(self) -> str:
        """One id per (message, status): a repeat of the same callback has the same id."""
        return f"{self.message_sid}/{self.status}"


class TwilioMessageState(AvroModel):
    """The status applier's memory of one message: its most advanced status and every
    status seen. Kept in a `chassis.kafka.ledger.CommandLedger` keyed by the SID."""

    SCHEMA = "io.mlconnector.state.TwilioMessageState"

    message_sid: str
    account_sid: str
    status: str
    error_code: int | None = None
    error_message: str | None = None
    seen: list[str] = []
    at: datetime

    @property
    def command_id(self) -> str:
        """The ledger's key: the message SID."""
        return self.message_sid

    def with_callback(self, callback: TwilioMessageStatus, *, at: datetime) -> TwilioMessageState:
        """This state with one more status seen; the status (and its error) only advances."""
        changes: dict[str, object] = {"seen": [*self.seen, callback.status], "at": at}
        if advances(self.status, callback.status):
            changes |= {
                "status": callback.status,
                "error_code": callback.error_code,
                "error_message": callback.error_message,
            }
        return self.model_copy(update=changes)

    @classmethod
    def first(cls, callback: TwilioMessageStatus, *, at: datetime) -> TwilioMessageState:
        return cls(
            message_sid=callback.message_sid,
            account_sid=callback.account_sid,
            status=callback.status,
            error_code=callback.error_code,
            error_message=callback.error_message,
            seen=[callback.status],
            at=at,
        )
