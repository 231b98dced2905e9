"""The Twilio sink's replay adapter: SMS and email commands, their two ledgers, and a lookup
of an SMS in Twilio's message list (an email cannot be searched: SendGrid offers no search).

The SMS lookup is the one the sink makes for a PENDING entry after a crash
(`twilio_sink.delivery`): the messages sent to the recipient since shortly before the
command was written, with the command's body, whose SID no other ledger entry holds (two
alerts with the same text to one number stay two). A found SMS is recorded DONE with its SID
and Twilio's status through the sink's own `Ledger`. The sink consumes the email topic only
when it has a SendGrid key, so only then is the email topic part of its group's replay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from chassis.kafka.expiry import Expiry
from chassis.kafka.record import Record
from chassis.settings import ServiceSettings
from chassis.vault import vault_from_environment
from events.command_topics import SINK_TWILIO_EMAIL, SINK_TWILIO_SMS
from events.commands import SendEmail, SendSms
from events.twilio_deliveries import (
    STATE_TWILIO_EMAIL_LEDGER,
    STATE_TWILIO_SMS_LEDGER,
    TwilioChannel,
    TwilioDelivery,
    TwilioDeliveryStatus,
)
from mlc.replay_contract import (
    CommandLedgerTopic,
    EntryState,
    LedgerState,
    ReplayCommand,
    ReplayContext,
    prefixed,
)
from twilio_client import TwilioCredentials, TwilioMessages
from twilio_sink.credentials import ProviderSecrets
from twilio_sink.delivery import LOOKUP_MARGIN
from twilio_sink.inject import SERVICE, SinkOptions
from twilio_sink.ledger import Ledger
from twilio_sink.main import options_from

UNSEARCHABLE = "SendGrid cannot be searched (an email may have gone out)"


class TwilioReplay:
    sink = SERVICE
    system = "Twilio"

    def __init__(self, context: ReplayContext) -> None:
        options = options_from(context.sink_args, ServiceSettings())
        self._options = options
        self._context = context
        self.group_id = context.group_id or options.group_id
        self.expiry = Expiry(options.ledger_horizon)
        pairs = _topics(options, context.prefix)
        self.topics = tuple(pairs.values())
        self._channels = {topic.commands: channel for channel, topic in pairs.items()}
        self._ledger = Ledger(
            sink=SERVICE,
            topics={channel: (t.commands, t.ledger) for channel, t in pairs.items()},
            producer=context.producer, serde=context.serde, expiry=self.expiry,
        )  # fmt: skip
        self._claimed: set[str] = set()
        """SIDs that ledger entries hold: a lookup never takes another command's message."""
        self._statuses: dict[str, str] = {}
        """Command id -> Twilio's status of the message a lookup found."""
        self._http: httpx.AsyncClient | None = None
        self._messages: TwilioMessages | None = None

    def decode(self, record: Record) -> ReplayCommand:
        command: SendSms | SendEmail
        if self._channels[record.topic] is TwilioChannel.SMS:
            command = SendSms.from_record(record.value)
        else:
            command = SendEmail.from_record(record.value)
        return ReplayCommand.of(record, command, entity_id=command.entity_id or command.key)

    def ledger_state(self, topic: CommandLedgerTopic, fields: dict[str, Any]) -> LedgerState:
        entry = TwilioDelivery.from_record(fields)
        if entry.external_id is not None:
            self._claimed.add(entry.external_id)
        if entry.status is TwilioDeliveryStatus.DONE:
            return LedgerState(EntryState.DONE, entry.external_id)
        if entry.status is TwilioDeliveryStatus.FAILED:
            return LedgerState(
                EntryState.FAILED, detail=f"failed for good earlier (Twilio {entry.error_code})"
            )
        if entry.not_sent or entry.attempts == 0:
            return LedgerState(EntryState.RETRY, detail="Twilio refused the last attempt")
        return LedgerState(EntryState.PENDING)

    def searchable(self, command: ReplayCommand) -> str | None:
        return None if isinstance(command.command, SendSms) else UNSEARCHABLE

    async def find(self, command: ReplayCommand) -> str | None:
        sms: SendSms = command.command
        written = datetime.fromtimestamp((command.record.timestamp_ms or 0) / 1000, tz=UTC)
        async for message in self._list().sent_to(sms.to, since=written - LOOKUP_MARGIN):
            if (
                message.to == sms.to
                and message.body == sms.body
                and message.sid not in self._claimed
            ):
                self._claimed.add(message.sid)
                self._statuses[sms.command_id] = message.status
                return message.sid
        return None

    async def record_found(self, command: ReplayCommand, external_id: str) -> None:
        await self._ledger.found(
            TwilioChannel.SMS, command.command, external_id=external_id,
            message_status=self._statuses.get(command.command_id),
        )  # fmt: skip

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    def _list(self) -> TwilioMessages:
        """Twilio's message list with the sink's own credential; the vault is opened only when
        a lookup is needed."""
        if self._messages is None:
            settings = self._context.settings
            secrets = ProviderSecrets(
                {"twilio": self._options.auth},
                vault=self._context.vault or (lambda: vault_from_environment(kafka=settings)),
            )
            self._http = httpx.AsyncClient(
                base_url=self._options.api_base, timeout=self._options.request_timeout
            )
            credentials = TwilioCredentials(
                account_sid=self._options.account_sid, secret=secrets["twilio"],
                api_key_sid=self._options.api_key_sid,
            )  # fmt: skip
            self._messages = TwilioMessages(self._http, credentials=credentials)
        return self._messages


def _topics(options: SinkOptions, prefix: str) -> dict[TwilioChannel, CommandLedgerTopic]:
    """The command topics the sink consumes, each with its ledger topic."""
    pairs = {
        TwilioChannel.SMS: CommandLedgerTopic(
            commands=prefixed(options.sms_topic.name, SINK_TWILIO_SMS.name, prefix),
            ledger=prefixed(options.sms_ledger_topic.name, STATE_TWILIO_SMS_LEDGER.name, prefix),
        )
    }
    if options.sends_email:
        pairs[TwilioChannel.EMAIL] = CommandLedgerTopic(
            commands=prefixed(options.email_topic.name, SINK_TWILIO_EMAIL.name, prefix),
            ledger=prefixed(
                options.email_ledger_topic.name, STATE_TWILIO_EMAIL_LEDGER.name, prefix
            ),
        )
    return pairs


def build(context: ReplayContext) -> TwilioReplay:
    return TwilioReplay(context)
