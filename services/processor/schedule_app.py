"""The faust side of reminders and digests: tables, the digest-items topic, one timer.

Thin on purpose: every decision is in `processor.reminders` and `processor.digests`. Here:
two tables changelogged in Kafka (a restart recovers them), an agent that files digest items
into their buckets (the items topic is keyed by target, so a target's buckets live on one
partition whatever partition the matched event came from), and a timer that sends what is
due. The timer acts only on the partitions this worker owns, and only once table recovery
is complete, so a half-recovered bucket is never sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import faust

from chassis.audit import AuditTrail, Stage
from chassis.serde import AvroSerde
from events.command_topics import COMMAND_TOPICS
from events.commands import Command
from events.visma import VismaEntityChanged
from processor.config import ProcessorSettings
from processor.digests import DigestItem, Digests, digest_items
from processor.handler import Observe, Record
from processor.reminders import Reminders
from processor.rules import RuleSet
from processor.schedule_state import Clock, State

REMINDERS_TABLE = "processor-reminders"
DIGESTS_TABLE = "processor-digests"
SERVICE = "processor"


class TableStore:
    """A `PartitionedStore` over a faust table: writes name their changelog partition."""

    def __init__(self, table: Any, owned_partitions: Callable[[], set[int]]) -> None:
        self._table = table
        self._owned = owned_partitions

    def get(self, key: str) -> State | None:
        value: State | None = self._table.data.get(key)
        return value

    def put(self, key: str, value: State, *, partition: int) -> Awaitable[object]:
        self._table.data[key] = value
        sent: Awaitable[object] = self._table.send_changelog(partition, key, value)
        return sent

    def delete(self, key: str, *, partition: int) -> Awaitable[object]:
        self._table.data.pop(key, None)
        sent: Awaitable[object] = self._table.send_changelog(
            partition, key, None, value_serializer="raw"
        )
        return sent

    def owned(self) -> Iterable[tuple[str, State]]:
        partitions = self._owned()
        return [(k, v) for k, v in list(self._table.data.items()) if v["partition"] in partitions]


def install_schedule(
    app: faust.App,
    settings: ProcessorSettings,
    *,
    serde: AvroSerde,
    rules: Callable[[], RuleSet],
    clock: Clock,
) -> Observe:
    """Adds the tables, agent and timer to `app`; returns the handler's `observe` hook."""
    work = ScheduledWork(app, settings, serde=serde, rules=rules, clock=clock)
    app.agent(work.items_topic, name="file-digest-items")(work.file_digest_items)
    app.timer(interval=settings.schedule_check_seconds, name="send-scheduled")(work.send_due)
    return work.observe


class ScheduledWork:
    """What the agent, the timer and the handler's hook do, over faust tables and topics."""

    def __init__(
        self,
        app: faust.App,
        settings: ProcessorSettings,
        *,
        serde: AvroSerde,
        rules: Callable[[], RuleSet],
        clock: Clock,
    ) -> None:
        sources = {*settings.input_topics(), settings.digest_topic()}

        def owned() -> set[int]:
            return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic in sources}

        self._app = app
        self._serde = serde
        self._rules = rules
        self._checked: RuleSet | None = None
        self._scheduling = False
        self.reminders = Reminders(
            TableStore(_table(app, settings, REMINDERS_TABLE), owned), clock=clock
        )
        self.digests = Digests(TableStore(_table(app, settings, DIGESTS_TABLE), owned), clock=clock)
        self.items_topic = raw_topic(app, settings.digest_topic())
        self._senders = {
            kind: raw_topic(app, settings.command_topic(kind)) for kind in COMMAND_TOPICS
        }
        audit_topic = raw_topic(app, settings.audit_topic)
        self._audit = AuditTrail(
            service=SERVICE,
            serde=serde,
            publish=lambda key, value: audit_topic.send(key=key.encode(), value=value, force=True),
        )

    async def observe(
        self,
        record: Record,
        event: VismaEntityChanged,
        enrichment: Mapping[str, str],
        rules: RuleSet,
    ) -> list[Awaitable[object]]:
        if not self._schedules(rules):
            return []
        self.reminders.observe(event, enrichment, rules, partition=record.partition)
        return [
            await self.items_topic.send(key=item.topic_key.encode(),
                                        value=item.model_dump_json().encode(), force=True)
            for item in digest_items(event, enrichment, rules)
        ]  # fmt: skip

    def _schedules(self, rules: RuleSet) -> bool:
        """Whether any rule reminds or digests: computed once per loaded rule set, so the hot
        path pays nothing when none does. Reminders of a rule that lost `remind` are dropped
        by the timer, not here."""
        if rules is not self._checked:
            self._checked = rules
            self._scheduling = any(r.remind or r.digest_targets for r in rules.rules)
        return self._scheduling

    async def file_digest_items(self, stream: faust.StreamT[Any]) -> None:
        async for event in stream.events():
            item = DigestItem.model_validate_json(event.value)
            self.digests.add(item, partition=event.message.partition)

    async def send_due(self) -> None:
        if not _recovered(self._app):
            return
        try:
            for reminder in self.reminders.due(self._rules()):
                await self._send(reminder.commands, f"reminder {reminder.period}:")
                await self.reminders.sent(reminder)
            for digest in await self.digests.close_due():
                await self._send(digest.commands, f"digest {digest.bucket.day}:")
                await self.digests.sent(digest)
        except Exception as exc:
            # Unsent work stays in the tables: crash, and the next worker sends it.
            await self._app.crash(exc)
            raise

    async def _send(self, commands: list[Command], detail: str) -> None:
        pending = []
        for command in commands:
            value = self._serde.encode(command.SCHEMA, command.to_record())
            sender = self._senders[type(command)]
            pending.append(await sender.send(key=command.key.encode(), value=value, force=True))
        for delivery in pending:
            await delivery
        for command in commands:
            audited = await self._audit.record(
                Stage.ROUTED,
                entity_id=command.entity_id,
                event_id=command.source_event_id,
                command_id=command.command_id,
                detail=f"{detail} {command.rule} -> {command.key}",
            )
            await audited


def _recovered(app: faust.App) -> bool:
    """Tables fully read back and no rebalance under way."""
    completed = app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]
    return bool(completed and not app.rebalancing and not app.in_recovery)


def _table(app: faust.App, settings: ProcessorSettings, name: str) -> Any:
    return app.Table(
        name,
        partitions=settings.input_partitions,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
    )


def raw_topic(app: faust.App, *names: str) -> Any:
    """A faust topic of bytes: the processor encodes and decodes Avro itself."""
    return app.topic(
        *names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
