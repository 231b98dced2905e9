"""Composition root of the monday receipts service; tests and the e2e pass overrides, never patches.

One process does both halves of "receipts back from monday": it consumes the column changes
(webhook and reconciliation alike) into receipt commands, and runs the reconciliation that
publishes what the webhooks missed. They share the receipts file; the reconciliation exists
only for the receipt columns that file names. Consuming starts once the link view holds
everything already on `monday.item.v1`, and after every board's columns were checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from chassis.kafka.outputs import service_outputs
from chassis.kafka.producer import EventProducer, TransactionalProducer
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.kafka.view import CompactedView
from chassis.service import ConsumerService, views_caught_up
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec
from events.command_topics import SINK_VISMA_WRITER
from events.monday import MONDAY_COLUMN_CHANGES, MONDAY_ITEMS
from events.topics import STATE_POLL_CURSORS
from monday_receipts.config import ReceiptsConfig, ReceiptsSettings
from monday_receipts.cursors import load_cursors
from monday_receipts.desk import ReceiptDesk
from monday_receipts.links import ViewLinks, decode_link
from monday_receipts.outbox import ChangeHandler, KafkaOutbox
from monday_receipts.reconcile import BoardReader, Reconciliation, Topics
from monday_receipts.transactions import KafkaTransactions

SERVICE = "monday-receipts"


@dataclass(frozen=True)
class ReceiptsTopics:
    changes: TopicSpec
    links: TopicSpec
    commands: TopicSpec
    cursors: TopicSpec

    @classmethod
    def of(cls, settings: ReceiptsSettings) -> ReceiptsTopics:
        def prefixed(spec: TopicSpec) -> TopicSpec:
            return replace(spec, name=settings.topic_prefix + spec.name)

        return cls(
            changes=prefixed(MONDAY_COLUMN_CHANGES),
            links=prefixed(MONDAY_ITEMS),
            commands=prefixed(SINK_VISMA_WRITER),
            cursors=prefixed(STATE_POLL_CURSORS),
        )


@dataclass
class ReceiptsOptions:
    reader: BoardReader
    """monday, as the reconciliation reads it (a `monday_client.MondayClient`)."""
    close_reader: Callable[[], Awaitable[None]]
    instance_id: str | None = None


@dataclass
class ReceiptsApp(ConsumerService):
    runner: ConsumerRunner
    reconciliation: Reconciliation
    every_seconds: float
    producer: EventProducer
    transactional: TransactionalProducer
    close_reader: Callable[[], Awaitable[None]]
    views: list[CompactedView[Any]]
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def stop(self) -> None:
        self.stopping.set()
        super().stop()

    async def run(self) -> None:
        """Checks the boards' columns (a missing one ends the service naming it), waits for
        the link view, then consumes and reconciles until stopped; if either half fails the
        other is stopped and the failure raised."""
        try:
            await self.reconciliation.check_columns()
            if await views_caught_up(self.views, stopped=self.stopping.is_set):
                await self._consume_and_reconcile()
        finally:
            await self.aclose()

    async def _consume_and_reconcile(self) -> None:
        halves = [
            asyncio.ensure_future(self.consume()),
            asyncio.ensure_future(
                self.reconciliation.run_forever(self.stopping, every_seconds=self.every_seconds)
            ),
        ]
        try:
            await asyncio.wait(halves, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.stop()
            outcomes = await asyncio.gather(*halves, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def aclose(self) -> None:
        for view in self.views:
            view.stop()
        await self.close_reader()
        self.producer.close()
        self.transactional.close()


def build(
    kafka: KafkaSettings,
    settings: ReceiptsSettings,
    config: ReceiptsConfig,
    options: ReceiptsOptions,
) -> ReceiptsApp:
    topics = ReceiptsTopics.of(settings)
    outputs = service_outputs(
        kafka, service=SERVICE, group_id=settings.group_id,
        topics=[topics.changes, topics.links, topics.commands, topics.cursors],
    )  # fmt: skip
    serde, producer, audit = outputs.serde, outputs.producer, outputs.audit
    view: CompactedView[Any] = CompactedView(
        kafka, [topics.links.name], decode=lambda raw: decode_link(serde, raw),
        client=f"{settings.group_id}-links",
    ).start()  # fmt: skip
    desk = ReceiptDesk(
        config=config,
        links=ViewLinks(view, wait_seconds=settings.link_wait_seconds),
        outbox=KafkaOutbox(producer, serde, topics.commands.name),
        audit=audit,
    )
    transactional = TransactionalProducer(
        kafka,
        client=f"{settings.group_id}-reconcile",
        transactional_id=settings.transactional_id or f"{settings.group_id}-reconcile",
    )
    reconciliation = Reconciliation(
        config=config,
        reader=options.reader,
        transactions=KafkaTransactions(transactional),
        serde=serde,
        topics=Topics(changes=topics.changes.name, cursors=topics.cursors.name),
        cursors=load_cursors(kafka, serde, topics.cursors.name),
        overlap=timedelta(seconds=settings.reconcile_overlap_seconds),
    )
    runner = ConsumerRunner(
        settings=kafka,
        config=RunnerConfig(
            group_id=settings.group_id,
            topics=(topics.changes.name,),
            instance_id=options.instance_id,
        ),
        handler=ChangeHandler(desk),
        serde=serde,
        dead_letters=outputs.dead_letters,
        audit=audit,
    )
    return ReceiptsApp(
        runner=runner,
        reconciliation=reconciliation,
        every_seconds=settings.reconcile_every_seconds,
        producer=producer,
        transactional=transactional,
        views=[view],
        close_reader=options.close_reader,
    )
