"""The operator's resend: which originals may be sent again, and the linked new command."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from events.commands import SendEmail, SendSms
from events.twilio_deliveries import TwilioChannel, TwilioDelivery, TwilioDeliveryStatus
from twilio_sink.resend import ResendRefusedError, refusal, resend, resend_id

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 2, 21, 0, 0, 123456, tzinfo=UTC)
ORIGINAL = SendSms(
    command_id="sms-1", tenant_id="t1", rule="big-invoices", source_event_id="e-1",
    entity_type="supplierInvoice", entity_id="t1/c1/supplierInvoice/1",
    created_at=datetime(2026, 12, 2, tzinfo=UTC), to="+46700000000", body="Invoice 1: 60,000 SEK",
)  # fmt: skip
EMAIL = SendEmail(
    command_id="mail-1", tenant_id="t1", rule="payments", source_event_id="d-1",
    entity_type="digest", entity_id="payments/2026-12-02",
    created_at=datetime(2026, 12, 2, tzinfo=UTC), to=["ap@example.se"], subject="Payments",
    body="3 payments", html="<p>3 payments</p>",
)  # fmt: skip


def entry(status: TwilioDeliveryStatus, message_status: str | None = None) -> TwilioDelivery:
    return TwilioDelivery(
        command_id="sms-1", channel=TwilioChannel.SMS, status=status, to="+46700000000",
        at=NOW, external_id="SM1" if status is TwilioDeliveryStatus.DONE else None,
        message_status=message_status,
        error_code=21211 if status is TwilioDeliveryStatus.FAILED else None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "message_status"),
    [
        (TwilioDeliveryStatus.FAILED, None),  # 21211, 21610: Twilio refused it for good
        (TwilioDeliveryStatus.DONE, "failed"),  # the carrier gave up after Twilio took it
        (TwilioDeliveryStatus.DONE, "undelivered"),
    ],
)
def test_a_failed_alert_may_be_resent(
    status: TwilioDeliveryStatus, message_status: str | None
) -> None:
    assert refusal(entry(status, message_status)) is None


@pytest.mark.parametrize(
    ("status", "message_status", "reason"),
    [
        (TwilioDeliveryStatus.DONE, "delivered", "it was delivered (delivered, SM1)"),
        (TwilioDeliveryStatus.DONE, "read", "it was delivered (read, SM1)"),
        (TwilioDeliveryStatus.DONE, "sent", "Twilio took it (sent, SM1)"),
        (TwilioDeliveryStatus.DONE, None, "Twilio took it (accepted, SM1)"),
        (TwilioDeliveryStatus.PENDING, None, "may have been sent"),
    ],
)
def test_an_alert_delivered_or_on_its_way_is_refused_unless_forced(
    status: TwilioDeliveryStatus, message_status: str | None, reason: str
) -> None:
    known = entry(status, message_status)
    with pytest.raises(ResendRefusedError, match=re.escape(reason)):
        resend(ORIGINAL, known, now=NOW)
    forced = resend(ORIGINAL, known, now=NOW, force=True)
    assert forced.resend_of == "sms-1"


def test_an_alert_the_sink_has_not_handled_is_refused() -> None:
    with pytest.raises(ResendRefusedError, match="not handled it yet"):
        resend(ORIGINAL, None, now=NOW, to="+46701234567")


def test_the_resend_is_a_new_command_linked_to_the_original() -> None:
    command = resend(ORIGINAL, entry(TwilioDeliveryStatus.FAILED), now=NOW, to="+46701234567")
    assert isinstance(command, SendSms)
    assert command.command_id == resend_id("sms-1", "+46701234567")
    assert command.command_id != ORIGINAL.command_id
    assert (command.to, command.key, command.resend_of) == ("+46701234567", "+46701234567", "sms-1")
    assert command.body == ORIGINAL.body
    # The original's provenance: `mlc audit` finds both in the chain of the same change.
    same = ("tenant_id", "rule", "source_event_id", "entity_type", "entity_id")
    assert all(getattr(command, f) == getattr(ORIGINAL, f) for f in same)
    assert command.created_at == datetime(2026, 12, 2, 21, 0, 0, 123000, tzinfo=UTC)
    assert SendSms.from_record(command.to_record()) == command


def test_the_same_resend_twice_has_one_id_a_forced_one_a_new_id_each_time() -> None:
    failed = entry(TwilioDeliveryStatus.FAILED)
    first = resend(ORIGINAL, failed, now=NOW, to="+46701234567")
    again = resend(ORIGINAL, failed, now=NOW.replace(minute=5), to="+46701234567")
    assert first.command_id == again.command_id  # the sink's ledger drops the repeat
    forced = [resend(ORIGINAL, failed, now=NOW.replace(minute=m), force=True) for m in (1, 2)]
    assert len({c.command_id for c in [first, *forced]}) == 3
    assert forced[0].to == ORIGINAL.to  # no --to: the same number


def test_a_corrected_number_must_be_e164() -> None:
    with pytest.raises(ResendRefusedError, match=re.escape("E.164")):
        resend(ORIGINAL, entry(TwilioDeliveryStatus.FAILED), now=NOW, to="0701234567")


def test_an_email_is_resent_with_both_parts_to_corrected_addresses() -> None:
    failed = entry(TwilioDeliveryStatus.FAILED).model_copy(update={"channel": TwilioChannel.EMAIL})
    command = resend(EMAIL, failed, now=NOW, to="ap@example.se, cfo@example.se")
    assert isinstance(command, SendEmail)
    assert command.to == ["ap@example.se", "cfo@example.se"]
    assert (command.html, command.body, command.resend_of) == (
        "<p>3 payments</p>",
        "3 payments",
        "mail-1",
    )
    with pytest.raises(ResendRefusedError, match="not an email address"):
        resend(EMAIL, failed, now=NOW, to="ap-at-example")
    done = entry(TwilioDeliveryStatus.DONE).model_copy(update={"channel": TwilioChannel.EMAIL})
    with pytest.raises(ResendRefusedError, match="Twilio took it"):
        resend(EMAIL, done, now=NOW)
