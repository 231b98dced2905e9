"""Handles SendSms and SendEmail commands: ledger check, lookup, send, ledger entry, audit.

Every SMS is sent at most once: DONE or FAILED in the ledger means skip. PENDING (without
`not_sent`) means an earlier call may have created the message (the sink died, or Twilio
timed out or failed with a 5xx after it may have acted), so Twilio's message list is read
for that recipient from shortly before the first such call, and a message with the same
body, not already another command's, is taken as this command's: DONE with its SID, no
resend. Only when none is found is the SMS sent again.

An email cannot be looked for (SendGrid has no search): a PENDING email is sent again, so
an interruption between the call and the DONE entry repeats it at most once; each such
resend is counted (`mlc_twilio_email_possible_repeats_total`) and audited.

A permanent refusal (21211 invalid number, 21610 unsubscribed, ...) is recorded FAILED with
Twilio's code and message, audited and logged for the operator, and not retried; a 20429 or
a 503 is raised as `SystemUnavailable`, which the runner waits out for that recipient;
every call to one account passes its concurrency cap (`account_cap`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter

from chassis.audit import AuditTrail, Stage
from chassis.errors import PermanentError
from chassis.kafka.record import Record
from events.commands import SendEmail, SendSms
from events.twilio_deliveries import TwilioChannel, TwilioDelivery, TwilioDeliveryStatus
from twilio_client import (
    EmailSender,
    OutgoingEmail,
    SentMessage,
    TwilioAuthError,
    TwilioError,
    TwilioMessages,
)
from twilio_sink.account_cap import AccountCap
from twilio_sink.credentials import RefusedCredentials
from twilio_sink.ledger import Ledger, TwilioCommand, recipient

log = logging.getLogger(__name__)

LOOKUP_MARGIN = timedelta(minutes=5)
"""How far before the first call an interrupted SMS is looked for: covers the clock
difference between this host and Twilio, whose clock stamps the message."""

FOUND = Counter(
    "mlc_twilio_sms_found_after_interruption_total",
    "Interrupted SMS found in Twilio's list (not sent again)",
)
EMAIL_REPEATS = Counter(
    "mlc_twilio_email_possible_repeats_total",
    "Emails sent again after an interrupted call that may have sent them",
)
FAILED = Counter("mlc_twilio_failed_total", "Commands Twilio refused for good", ["channel", "code"])


PROVIDERS = {TwilioChannel.SMS: "twilio", TwilioChannel.EMAIL: "sendgrid"}
"""The provider (and credential) behind each channel."""


@dataclass(frozen=True)
class SmsSender:
    """Where an SMS comes from and where Twilio reports its statuses."""

    from_: str | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None


class TwilioAlerts:
    def __init__(
        self,
        *,
        messages: TwilioMessages,
        sender: SmsSender,
        email: EmailSender | None,
        ledger: Ledger,
        audit: AuditTrail,
        cap: AccountCap,
        email_cap: AccountCap | None = None,
        credentials: RefusedCredentials | None = None,
    ) -> None:
        """`cap` holds the calls to the Twilio account; `email_cap` those to the email
        provider (another service with its own limits: it never waits behind SMS);
        `credentials` holds a provider's commands while it refuses its credential (without
        it, such a command is dead-lettered)."""
        self._messages = messages
        self._sender = sender
        self._email = email
        self._ledger = ledger
        self._audit = audit
        self._cap = cap
        self._email_cap = email_cap or AccountCap(cap.limit, account="email")
        self._credentials = credentials

    async def __call__(self, record: Record) -> None:
        channel = self._ledger.channel_of(record.source_topic)
        provider = PROVIDERS[channel]
        if self._credentials is None:
            await self._handle(record, channel)
            return
        self._credentials.check(provider)
        used = self._credentials.secret(provider)
        try:
            await self._handle(record, channel)
        except TwilioAuthError as error:
            # The ledger already says the call sent nothing (a refusal).
            raise self._credentials.refused(provider, error=error.detail, used=used) from error

    async def _handle(self, record: Record, channel: TwilioChannel) -> None:
        command: TwilioCommand
        if channel is TwilioChannel.SMS:
            command = SendSms.from_record(record.value)
        else:
            command = SendEmail.from_record(record.value)
        entry = self._ledger.get(channel, command.command_id)
        if entry is not None and entry.status is not TwilioDeliveryStatus.PENDING:
            self._skip(command, entry)
            return
        if isinstance(command, SendSms):
            if entry is not None and _may_have_sent(entry):
                found = await self._look_for(command, entry)
                if found is not None:
                    await self._sent(command, entry, found.sid, found.status, detail="found")
                    return
            async with self._cap.admitted():
                await self._send_sms(record, command)
        else:
            if entry is not None and _may_have_sent(entry):
                EMAIL_REPEATS.inc()
                self._audit.record(
                    Stage.RETRIED,
                    entity_id=command.entity_id,
                    command_id=command.command_id,
                    detail="an interrupted email may have gone out: sending again "
                    "(SendGrid offers no search)",
                )
            async with self._email_cap.admitted():
                await self._send_email(record, command)

    async def _send_sms(self, record: Record, command: SendSms) -> None:
        entry = await self._ledger.pending(TwilioChannel.SMS, command)
        try:
            async with record.paced(), self._cap:
                sent = await self._messages.create(
                    to=command.to,
                    body=command.body,
                    from_=self._sender.from_,
                    messaging_service_sid=self._sender.messaging_service_sid,
                    status_callback=self._sender.status_callback,
                )
        except TwilioError as error:
            if await self._refused(command, entry, error):
                return
            raise
        await self._sent(command, entry, sent.sid, sent.status, detail="sent")

    async def _send_email(self, record: Record, command: SendEmail) -> None:
        if self._email is None:
            raise EmailNotConfiguredError("no email provider is configured for this sink")
        entry = await self._ledger.pending(TwilioChannel.EMAIL, command)
        email = OutgoingEmail(
            to=command.to, subject=command.subject, text=command.body, html=command.html,
            reference=command.command_id,
        )  # fmt: skip
        try:
            async with record.paced(), self._email_cap:
                receipt = await self._email.send(email)
        except TwilioError as error:
            if await self._refused(command, entry, error):
                return
            raise
        await self._sent(command, entry, receipt.message_id, None, detail=receipt.provider)

    async def _refused(
        self, command: TwilioCommand, entry: TwilioDelivery, error: TwilioError
    ) -> bool:
        """Records a refusal; True when it is final (FAILED, not to be raised again).

        A rejected credential is no fault of the alert: it is not FAILED but raised (held
        until the credential is replaced, see `credentials.RefusedCredentials`)."""
        if isinstance(error, PermanentError) and not isinstance(error, TwilioAuthError):
            await self._failed(command, entry, error)
            return True
        if error.refused:
            await self._ledger.not_sent(entry)
        return False

    async def _failed(
        self, command: TwilioCommand, entry: TwilioDelivery, error: TwilioError
    ) -> None:
        await self._ledger.failed(entry, error_code=error.code, error_message=error.detail)
        FAILED.labels(entry.channel.value.lower(), str(error.code)).inc()
        detail = f"Twilio {error.code}: {error.detail} (to {recipient(command)}; not retried)"
        self._audit.record(
            Stage.FAILED,
            entity_id=command.entity_id,
            event_id=command.source_event_id,
            command_id=command.command_id,
            detail=detail,
        )
        log.error(
            "Twilio refused the alert for good; an operator can resend it",
            extra={
                "command_id": command.command_id,
                "error_code": error.code,
                "error": error.detail,
                "fix": f"mlc twilio resend {command.command_id} --to NUMBER",
            },
        )

    async def _look_for(self, command: SendSms, entry: TwilioDelivery) -> SentMessage | None:
        """The message an interrupted call created, if Twilio lists one."""
        since = (entry.first_attempt_at or entry.at) - LOOKUP_MARGIN
        async with self._cap:
            async for message in self._messages.sent_to(command.to, since=since):
                if (
                    message.to == command.to
                    and message.body == command.body
                    and not self._ledger.claimed(
                        TwilioChannel.SMS, message.sid, by_other_than=command.command_id
                    )
                ):
                    FOUND.inc()
                    log.info(
                        "SMS found after an interrupted send",
                        extra={"command_id": command.command_id, "sid": message.sid},
                    )
                    return message
        return None

    async def _sent(
        self,
        command: TwilioCommand,
        entry: TwilioDelivery,
        external_id: str | None,
        message_status: str | None,
        *,
        detail: str,
    ) -> None:
        await self._ledger.done(entry, external_id=external_id, message_status=message_status)
        self._audit.record(
            Stage.SENT,
            entity_id=command.entity_id,
            event_id=command.source_event_id,
            command_id=command.command_id,
            external_id=external_id,
            detail=f"{detail}: {entry.channel.value.lower()} to {recipient(command)}"
            + (f", {message_status}" if message_status else ""),
        )

    def _skip(self, command: TwilioCommand, entry: TwilioDelivery) -> None:
        reason = (
            "already sent"
            if entry.status is TwilioDeliveryStatus.DONE
            else f"failed for good earlier (Twilio {entry.error_code}); resend by hand"
        )
        self._audit.record(
            Stage.SKIPPED,
            entity_id=command.entity_id,
            command_id=command.command_id,
            external_id=entry.external_id,
            detail=reason,
        )


class EmailNotConfiguredError(PermanentError):
    """An email command reached a sink without an email provider."""


def _may_have_sent(entry: TwilioDelivery) -> bool:
    return (
        entry.status is TwilioDeliveryStatus.PENDING and entry.attempts > 0 and not entry.not_sent
    )
