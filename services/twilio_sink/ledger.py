"""The Twilio side of the delivery ledger: one entry per SMS or email command.

Each command topic has its own ledger topic (`events.twilio_deliveries`), partition for
partition, so a consumer that owns an SMS partition and not the email partition of the same
number loads exactly the entries it may act on. Entries move:

    (none) ──▶ PENDING ──▶ DONE      the provider took it: SID (or SendGrid id) kept
                  │  ▲  └─▶ FAILED    a permanent refusal: Twilio's code and message kept,
                  │  │               never retried automatically (`mlc twilio resend`)
                  └──┘ not_sent      the provider refused the call (20429, no connection):
                                     the next call needs no lookup

PENDING is written (and confirmed by Kafka) before every call that may send, so after a
crash a PENDING entry without `not_sent` means "may have been sent": the SMS is looked up
in Twilio's list first; an email (SendGrid has no search) is sent again, at most once per
interruption. `message_status` holds Twilio's status of the message, only ever advanced.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime

from chassis.kafka.expiry import Expiry
from chassis.kafka.ledger import CommandLedger
from chassis.kafka.producer import EventProducer
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from events.commands import SendEmail, SendSms
from events.twilio_deliveries import (
    TwilioChannel,
    TwilioDelivery,
    TwilioDeliveryStatus,
    advances,
)

TwilioCommand = SendSms | SendEmail


def recipient(command: TwilioCommand) -> str:
    return command.to if isinstance(command, SendSms) else ", ".join(command.to)


class Ledger:
    def __init__(
        self,
        *,
        sink: str,
        topics: dict[TwilioChannel, tuple[str, str]],
        producer: EventProducer,
        serde: AvroSerde,
        expiry: Expiry | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`topics`: channel -> (its command topic, its ledger topic)."""
        self._clock = clock
        self._channels = {commands: channel for channel, (commands, _) in topics.items()}
        self._ledgers = {
            channel: CommandLedger(
                TwilioDelivery,
                topic=ledger,
                producer=producer,
                serde=serde,
                client=f"{sink}-{channel.value.lower()}-ledger",
                expiry=expiry,
                clock=clock,
            )
            for channel, (_, ledger) in topics.items()
        }

    def channel_of(self, command_topic: str) -> TwilioChannel:
        return self._channels[command_topic]

    def load(self, settings: KafkaSettings, assigned: Collection[tuple[str, int]]) -> int:
        """Reads the entries of the assigned command partitions; returns how many are live."""
        return sum(
            ledger.load(settings, [p for topic, p in assigned if self._channels[topic] is channel])
            for channel, ledger in self._ledgers.items()
        )

    def forget(self, revoked: Collection[tuple[str, int]]) -> None:
        for channel, ledger in self._ledgers.items():
            ledger.forget([p for topic, p in revoked if self._channels[topic] is channel])

    def get(self, channel: TwilioChannel, command_id: str) -> TwilioDelivery | None:
        return self._ledgers[channel].get(command_id)

    def claimed(self, channel: TwilioChannel, external_id: str, *, by_other_than: str) -> bool:
        """Whether another command's entry already holds this SID (a lookup must not take
        a message that was another command's, even with the same body)."""
        return any(
            entry.external_id == external_id and entry.command_id != by_other_than
            for entry in self._ledgers[channel].entries()
        )

    async def pending(self, channel: TwilioChannel, command: TwilioCommand) -> TwilioDelivery:
        """Written before a call that may send: one more attempt that may reach Twilio."""
        now = self._clock()
        previous = self.get(channel, command.command_id)
        entry = TwilioDelivery(
            command_id=command.command_id,
            channel=channel,
            status=TwilioDeliveryStatus.PENDING,
            to=recipient(command),
            at=now,
            first_attempt_at=(previous.first_attempt_at if previous else None) or now,
            attempts=(previous.attempts if previous else 0) + 1,
            tenant_id=command.tenant_id,
            entity_type=command.entity_type,
            entity_id=command.entity_id,
            rule=command.rule,
        )
        await self._ledgers[channel].write(entry)
        return entry

    async def found(
        self,
        channel: TwilioChannel,
        command: TwilioCommand,
        *,
        external_id: str,
        message_status: str | None,
    ) -> TwilioDelivery:
        """The command's message was found in the provider by someone else than the sink (a
        replay whose ledger entry was gone): DONE with its SID, no attempt of the sink's."""
        now = self._clock()
        entry = TwilioDelivery(
            command_id=command.command_id, channel=channel, status=TwilioDeliveryStatus.DONE,
            to=recipient(command), at=now, external_id=external_id,
            message_status=message_status, tenant_id=command.tenant_id,
            entity_type=command.entity_type, entity_id=command.entity_id, rule=command.rule,
        )  # fmt: skip
        await self._ledgers[channel].write(entry)
        return entry

    async def not_sent(self, entry: TwilioDelivery) -> None:
        """The provider refused the call: that attempt sent nothing. An earlier attempt
        that may have sent still counts, so the next call is still preceded by a lookup
        (Twilio may act on a timed-out request after an earlier lookup found nothing)."""
        attempts = max(0, entry.attempts - 1)
        await self._write(entry, not_sent=attempts == 0, attempts=attempts)

    async def done(
        self, entry: TwilioDelivery, *, external_id: str | None, message_status: str | None
    ) -> TwilioDelivery:
        return await self._write(
            entry,
            status=TwilioDeliveryStatus.DONE,
            external_id=external_id,
            message_status=message_status,
            not_sent=False,
        )

    async def failed(
        self, entry: TwilioDelivery, *, error_code: int | None, error_message: str
    ) -> TwilioDelivery:
        return await self._write(
            entry,
            status=TwilioDeliveryStatus.FAILED,
            error_code=error_code,
            error_message=error_message,
            attempts=max(0, entry.attempts - 1),
            not_sent=True,
        )

    async def status_seen(
        self,
        entry: TwilioDelivery,
        *,
        message_status: str,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> TwilioDelivery | None:
        """Twilio reported a status of a sent message: kept if it is further along than
        the one known (returns the new entry), else ignored (None)."""
        if not advances(entry.message_status, message_status):
            return None
        return await self._write(
            entry,
            message_status=message_status,
            error_code=error_code if error_code is not None else entry.error_code,
            error_message=error_message if error_message is not None else entry.error_message,
        )

    async def _write(self, entry: TwilioDelivery, **changes: object) -> TwilioDelivery:
        updated = entry.model_copy(update={**changes, "at": self._clock()})
        await self._ledgers[entry.channel].write(updated)
        return updated
