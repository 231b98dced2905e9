"""The Twilio delivery ledger's record: what became of each SMS and email command.

The twilio-sink writes one entry per command to a compacted topic keyed by command id
(one topic per command topic, partition p holding the entries of command partition p):
PENDING before the call to Twilio, DONE with the message SID after, FAILED with Twilio's
code and message for a permanent failure. `message_status` is Twilio's own status of the
message; status callbacks move it forward (`events.twilio_status.advances`), never back,
so the ledger keeps the most advanced one while the audit trail keeps every transition.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from chassis.topics import TopicSpec
from events._avro import AvroModel
from events.twilio_status import advances

__all__ = [
    "STATE_TWILIO_EMAIL_LEDGER",
    "STATE_TWILIO_SMS_LEDGER",
    "TwilioChannel",
    "TwilioDelivery",
    "TwilioDeliveryStatus",
    "advances",
]

STATE_TWILIO_SMS_LEDGER = TopicSpec("state.twilio-sms-ledger.v1", partitions=6, compacted=True)
"""Compacted, key = command_id, value = TwilioDelivery; partition p holds the entries of the
commands of `sink.twilio-sms.v1` partition p."""
STATE_TWILIO_EMAIL_LEDGER = TopicSpec("state.twilio-email-ledger.v1", partitions=6, compacted=True)
"""The same for `sink.twilio-email.v1`."""


class TwilioChannel(StrEnum):
    SMS = "SMS"
    EMAIL = "EMAIL"


class TwilioDeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"


class TwilioDelivery(AvroModel):
    SCHEMA = "io.mlconnector.state.TwilioDelivery"

    command_id: str
    channel: TwilioChannel
    status: TwilioDeliveryStatus
    to: str
    at: datetime
    first_attempt_at: datetime | None = None
    attempts: int = 0
    not_sent: bool = False
    external_id: str | None = None
    message_status: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    tenant_id: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    rule: str | None = None
