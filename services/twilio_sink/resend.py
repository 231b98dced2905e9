"""An operator's resend of an alert: whether it may go, and the new command that sends it.

An alert is never retried automatically after a permanent failure (seed 001): the operator
reads the audit trail, corrects the recipient if needed and resends. The resend is a new
command linked to the original (`resend_of`), with the original's provenance (tenant, rule,
source event, entity), so `mlc audit` shows both in the chain of the same change.

What the ledger says decides whether a resend may go:

    no entry             the sink has not handled the original yet        refused
    PENDING              a call is (or was) in flight and may have sent   refused
    DONE, SMS            failed / undelivered: the carrier gave up        allowed
                         queued, sent, delivered, read: on its way or in  refused
    DONE, email          SendGrid accepted it                             refused
    FAILED               Twilio refused it for good (21211, 21610, ...)   allowed

`force` sends in every case. A resend's id comes from the original's id and the new
recipient, so running the same resend twice sends once (the sink's ledger drops the repeat);
a forced resend gets an id of its own each time, since forcing means "send again".
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from chassis.errors import PermanentError
from events.commands import SendEmail, SendSms
from events.twilio_deliveries import TwilioDelivery, TwilioDeliveryStatus
from twilio_sink.ledger import TwilioCommand

CARRIER_GAVE_UP = frozenset({"failed", "undelivered"})
"""Twilio statuses after which a message will not arrive (after Twilio accepted it)."""
E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ResendRefusedError(PermanentError):
    """The original must not be sent again (without --force); the message says why."""


def refusal(entry: TwilioDelivery | None) -> str | None:
    """Why the original should not be sent again, or None if a resend may go."""
    if entry is None:
        return "the sink has not handled it yet: nothing has failed"
    if entry.status is TwilioDeliveryStatus.FAILED:
        return None
    if entry.status is TwilioDeliveryStatus.PENDING:
        return "a call to Twilio for it is in flight or was interrupted: it may have been sent"
    if entry.message_status in CARRIER_GAVE_UP:
        return None
    if entry.message_status in ("delivered", "read"):
        return f"it was delivered ({entry.message_status}, {entry.external_id})"
    status = entry.message_status or "accepted"
    return f"Twilio took it ({status}, {entry.external_id}) and has reported no failure"


def resend_id(original_id: str, recipients: str, *, nonce: str = "") -> str:
    return hashlib.sha256(f"resend|{original_id}|{recipients}|{nonce}".encode()).hexdigest()


def resend(
    original: TwilioCommand,
    entry: TwilioDelivery | None,
    *,
    now: datetime,
    to: str | None = None,
    force: bool = False,
) -> TwilioCommand:
    """The new command sending `original` again (to `to` if given); raises
    `ResendRefusedError` when the ledger says it should not go and `force` is not set."""
    reason = refusal(entry)
    if reason is not None and not force:
        raise ResendRefusedError(f"not resent: {reason}; --force sends it anyway")
    nonce = now.isoformat() if force else ""
    if isinstance(original, SendSms):
        number = to or original.to
        if not E164.match(number):
            raise ResendRefusedError(f"{number!r} is not an E.164 number such as +46701234567")
        return original.model_copy(update={
            "command_id": resend_id(original.command_id, number, nonce=nonce),
            "to": number, "created_at": _millis(now), "resend_of": original.command_id,
        })  # fmt: skip
    addresses = [a.strip() for a in to.split(",")] if to else list(original.to)
    for address in addresses:
        if not EMAIL.match(address):
            raise ResendRefusedError(f"{address!r} is not an email address")
    return SendEmail.model_validate(original.model_dump() | {
        "command_id": resend_id(original.command_id, ",".join(addresses), nonce=nonce),
        "to": addresses, "created_at": _millis(now), "resend_of": original.command_id,
    })  # fmt: skip


def _millis(instant: datetime) -> datetime:
    """Kafka carries timestamp-millis: the command equals its own decoding."""
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)
