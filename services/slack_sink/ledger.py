"""The Slack side of the delivery ledger: entries made from commands and Slack's answers.

Before posting, each command is written PENDING; after Slack answers, DONE with the channel
id and ts (`events.deliveries.SinkDelivery`, compacted topic keyed by command id). A command
found DONE is never posted again. A command found PENDING is one whose post may or may not
have reached Slack (the sink died in between): the sink asks Slack, by the command ids it put
in the message metadata, before it posts again, unless the entry says Slack refused that
attempt (`not_posted`: a 429 or a rejected token means nothing was posted). The approvals
service reads the same topic to match a reaction on (channel_id, ts) back to the record.

Loading, lookup, expiry and durable writing are the chassis `CommandLedger`'s (entries live
in the ledger partition of their command's partition and expire after the horizon); what is
Slack's here is building the entries and remembering Slack's channel id per destination.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime

from chassis.kafka.expiry import Expiry
from chassis.kafka.ledger import CommandLedger
from chassis.kafka.producer import EventProducer
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from events import PostSlackMessage
from events.deliveries import DeliveryStatus, SinkDelivery
from slack_client.models import PostedMessage


class Ledger:
    def __init__(
        self,
        *,
        sink: str,
        topic: str,
        producer: EventProducer,
        serde: AvroSerde,
        expiry: Expiry | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sink = sink
        self._clock = clock
        self._commands = CommandLedger(
            SinkDelivery, topic=topic, producer=producer, serde=serde, client=f"{sink}-ledger",
            expiry=expiry, clock=clock, on_removed=self._relearn,
        )  # fmt: skip
        self._channel_ids: dict[str, str] = {}
        """Destination (`workspace/channel`) -> Slack's channel id, learned from posts."""
        self._documents: dict[tuple[str, str], PostedMessage] = {}
        """(destination, entity id) -> the document's own message there: its first top-level
        single post (later updates keep its ts; replies, digests and reminders come after)."""
        self._shown: dict[PostedMessage, list[str]] = {}
        """A document's message -> the command ids it has shown (its versions), in order."""
        self._approved_by: dict[PostedMessage, str] = {}
        """A message -> the Slack user id of who approved it (from its confirmation reply)."""

    def load(self, settings: KafkaSettings, partitions: Collection[int]) -> int:
        """Reads the entries of the assigned partitions; returns how many are live."""
        known = self._commands.load(settings, partitions)
        self._learn(self._commands.entries())
        return known

    def forget(self, partitions: Collection[int]) -> None:
        """The partitions were revoked: their entries and documents leave memory; the channel
        ids learned stay (they do not change, and there is one per channel)."""
        self._commands.forget(partitions)

    def get(self, command_id: str) -> SinkDelivery | None:
        return self._commands.get(command_id)

    def channel_id(self, destination: str) -> str | None:
        return self._channel_ids.get(destination)

    def document_message(self, command: PostSlackMessage) -> PostedMessage | None:
        """The message that already shows the command's document in its channel, if any."""
        return self._documents.get((command.key, command.entity_id))

    def is_document(self, message: PostedMessage) -> bool:
        """`message` is a document's own message in its channel (one the sink updates)."""
        return message in self._shown

    def approved_by(self, document: PostedMessage) -> str | None:
        """Who approved the document shown by this message, as its confirmation said."""
        return self._approved_by.get(document)

    def shown_commands(self, document: PostedMessage) -> list[str]:
        """The command ids a document's message has shown so far (first post, updates)."""
        return list(self._shown.get(document, []))

    def was_digest(self, command_id: str) -> bool:
        entry = self.get(command_id)
        return entry is not None and entry.digest

    def is_done(self, command_id: str) -> bool:
        entry = self.get(command_id)
        return entry is not None and entry.status is DeliveryStatus.DONE

    def may_have_posted(self, command_id: str) -> bool:
        """PENDING from an attempt whose outcome is unknown: Slack must be asked first."""
        entry = self.get(command_id)
        return entry is not None and entry.status is DeliveryStatus.PENDING and not entry.not_posted

    def needs_pending(self, command_id: str) -> bool:
        """No entry yet, or one saying the last attempt posted nothing: write PENDING again
        before the next attempt, so a crash during it is looked for."""
        entry = self.get(command_id)
        return entry is None or entry.not_posted

    async def pending(self, commands: Sequence[PostSlackMessage], *, digest: bool) -> None:
        await self._write(
            [self._entry(c, DeliveryStatus.PENDING, None, digest=digest) for c in commands]
        )

    async def not_posted(self, commands: Sequence[PostSlackMessage], *, digest: bool) -> None:
        """Slack refused the attempt (nothing posted): the retry may post without a lookup."""
        await self._write(
            [
                self._entry(c, DeliveryStatus.PENDING, None, digest=digest, not_posted=True)
                for c in commands
            ]
        )

    async def done(
        self,
        commands: Sequence[PostSlackMessage],
        posted: PostedMessage,
        *,
        digest: bool,
        thread_ts: str | None = None,
        approved_by: str | None = None,
    ) -> None:
        """`thread_ts`: the thread the post replied in (None for a top-level message);
        `approved_by`: the approver a confirmation reply shows on that thread's message."""
        await self._write(
            [
                self._entry(
                    c,
                    DeliveryStatus.DONE,
                    posted,
                    digest=digest,
                    thread_ts=thread_ts,
                    approved_by=approved_by,
                )
                for c in commands
            ]
        )

    def _entry(
        self,
        command: PostSlackMessage,
        status: DeliveryStatus,
        posted: PostedMessage | None,
        *,
        digest: bool,
        not_posted: bool = False,
        thread_ts: str | None = None,
        approved_by: str | None = None,
    ) -> SinkDelivery:
        return SinkDelivery(
            command_id=command.command_id,
            sink=self._sink,
            status=status,
            destination=command.key,
            external_id=posted.ts if posted else None,
            at=self._clock(),
            # A PENDING entry keeps the channel id when it is known, for the lookup by ID.
            channel_id=posted.channel if posted else self._channel_ids.get(command.key),
            ts=posted.ts if posted else None,
            tenant_id=command.tenant_id,
            company_id=command.company_id,
            entity_type=command.entity_type,
            entity_id=command.entity_id,
            rule=command.rule,
            digest=digest,
            not_posted=not_posted,
            thread_ts=thread_ts,
            approved_by=approved_by,
        )

    async def _write(self, entries: list[SinkDelivery]) -> None:
        await self._commands.write_all(entries)
        self._learn(entries)

    def _relearn(self) -> None:
        """Entries expired or were revoked: the document indexes keep only what the ledger
        still holds (a document older than the horizon gets a new message, not an update)."""
        self._documents.clear()
        self._shown.clear()
        self._approved_by.clear()
        self._learn(self._commands.entries())

    def learn_channel_id(self, destination: str, channel_id: str) -> None:
        """Slack's id for `destination`, resolved by name before any post had told us."""
        self._channel_ids[destination] = channel_id

    def _learn(self, entries: Iterable[SinkDelivery]) -> None:
        for entry in entries:
            if entry.channel_id is not None:
                self._channel_ids[entry.destination] = entry.channel_id
            if entry.posted and entry.approved_by and entry.thread_ts and entry.channel_id:
                parent = PostedMessage(channel=entry.channel_id, ts=entry.thread_ts)
                self._approved_by[parent] = entry.approved_by
            if (
                entry.posted
                and not entry.digest
                and entry.thread_ts is None
                and entry.entity_id is not None
                and entry.channel_id is not None
                and entry.ts is not None
            ):
                message = PostedMessage(channel=entry.channel_id, ts=entry.ts)
                document = self._documents.setdefault((entry.destination, entry.entity_id), message)
                shown = self._shown.setdefault(document, [])
                if document == message and entry.command_id not in shown:
                    shown.append(entry.command_id)
