"""Composition root of the Airbase poller; tests and the demo pass overrides, never patches.

It creates the topics, reads the poller's memory (`state.airbase-poller.v1`) to its end, and
builds one `TenantSchedule` per configured tenant on one transactional producer, plus the
consumer of the ingress's webhooks that nudges them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from confluent_kafka.admin import AdminClient

from airbase_poller.allowance import CallAllowance
from airbase_poller.config import AirbasePollerFile, AirbasePollerSettings, AirbaseTenant
from airbase_poller.nudges import WebhookNudges
from airbase_poller.pull import PollerTopics, Tenant, TenantPuller
from airbase_poller.schedule import TenantSchedule
from airbase_poller.source import AirbaseSource
from chassis.audit import AUDIT_TOPIC, AuditTrail
from chassis.kafka.dlq import DeadLetters
from chassis.kafka.held_keys import HOLDS_TOPIC
from chassis.kafka.outputs import serde_for
from chassis.kafka.producer import EventProducer, TransactionalProducer
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.kafka.state import read_newest
from chassis.kafka.transactions import KafkaTransactions
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings, RegistrySettings
from chassis.topics import TopicSpec, dead_letter_topic, ensure_topics, redrive_topic
from events.airbase import AIRBASE_PAYMENTS, AIRBASE_WEBHOOKS
from events.airbase_polls import STATE_AIRBASE_POLLER, AirbasePolledEntry

SERVICE = "airbase-poller"
NUDGE_RETRY_BUDGET = 60.0
"""Seconds a nudge is retried: the schedule's next pull reads the same truth anyway."""

OpenedSource = tuple[AirbaseSource, Callable[[], Awaitable[None]]]
"""A tenant's Airbase and how to close it."""


@dataclass
class AirbasePollerOptions:
    open_source: Callable[[AirbaseTenant], OpenedSource]
    """Airbase for one tenant (an `airbase_client.AirbaseClient` with its token)."""
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    clock: Callable[[], float] = time.monotonic
    """The schedule's monotonic clock."""


@dataclass
class AirbasePollerApp:
    schedules: dict[str, TenantSchedule]
    nudges: ConsumerRunner
    producer: TransactionalProducer
    side_producer: EventProducer
    closers: list[Callable[[], Awaitable[None]]]
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def ready(self) -> bool:
        return not self.stopping.is_set() and self.nudges.assigned

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        async def stop_nudges() -> None:
            await self.stopping.wait()
            self.nudges.stop()

        try:
            await asyncio.gather(
                *(s.run(self.stopping) for s in self.schedules.values()),
                self.nudges.run(),
                stop_nudges(),
            )
        finally:
            for close in self.closers:
                await close()
            self.producer.close()
            self.side_producer.close()


def _inside_transactions_only(key: str, value: bytes) -> None:
    raise RuntimeError("the Airbase poller writes audit events inside its transactions")


def load_memory(
    kafka: KafkaSettings, serde: AvroSerde, topic: TopicSpec
) -> dict[str, AirbasePolledEntry]:
    """The version published of every entry, as committed (read_committed, to the end); a
    forgotten entry's tombstone hides its older records."""
    newest = read_newest(kafka, topic.name, client=f"{SERVICE}-memory",
                         partitions=range(topic.partitions))  # fmt: skip
    memory = {}
    for key, record in newest.items():
        if record.value is None:
            continue
        _, value = serde.decode(record.value)
        memory[key] = AirbasePolledEntry.from_record(value)
    return memory


def build(
    kafka: KafkaSettings,
    settings: AirbasePollerSettings,
    config: AirbasePollerFile,
    options: AirbasePollerOptions,
) -> AirbasePollerApp:
    def prefixed(spec: TopicSpec) -> TopicSpec:
        return replace(spec, name=settings.topic_prefix + spec.name)

    payments, memory_topic = prefixed(AIRBASE_PAYMENTS), prefixed(STATE_AIRBASE_POLLER)
    webhooks = prefixed(AIRBASE_WEBHOOKS)
    group = f"{settings.transactional_id}-webhooks"
    ensure_topics(
        AdminClient(kafka.client_config(SERVICE)),
        [payments, memory_topic, webhooks, AUDIT_TOPIC, dead_letter_topic(group),
         redrive_topic(group), HOLDS_TOPIC],
        replication_factor=kafka.replication_factor,
    )  # fmt: skip
    serde = serde_for(RegistrySettings())
    memory = load_memory(kafka, serde, memory_topic)
    producer = TransactionalProducer(
        kafka, client=SERVICE, transactional_id=settings.transactional_id)  # fmt: skip
    transactions = KafkaTransactions(producer)
    audit = AuditTrail(service=SERVICE, serde=serde, publish=_inside_transactions_only)
    topics = PollerTopics(payments=payments.name, memory=memory_topic.name, audit=AUDIT_TOPIC.name)
    schedules, closers = {}, []
    for tenant in config.tenants:
        source, close = options.open_source(tenant)
        closers.append(close)
        puller = TenantPuller(
            tenant=Tenant(tenant.tenant_id, tenant.company_id), source=source,
            transactions=transactions, serde=serde, audit=audit, topics=topics, memory=memory,
            payment_types=config.payment_types, reserve_calls=config.reserve_calls,
            batch_size=config.batch_size, clock=options.now,
            forget_after=timedelta(days=config.forget_after_days),
        )  # fmt: skip
        schedules[tenant.tenant_id] = TenantSchedule(
            puller, every_seconds=config.interval(tenant),
            nudge_min_seconds=config.nudge_min_seconds, clock=options.clock,
            allowance=CallAllowance(config.hourly_calls, clock=options.clock),
        )  # fmt: skip
    side_producer = EventProducer(kafka, f"{SERVICE}-webhooks")
    nudges = ConsumerRunner(
        settings=kafka,
        config=RunnerConfig(
            group_id=group, topics=(webhooks.name,), retry_budget=NUDGE_RETRY_BUDGET
        ),
        handler=WebhookNudges(schedules), serde=serde,
        dead_letters=DeadLetters(side_producer, group),
    )  # fmt: skip
    return AirbasePollerApp(schedules, nudges, producer, side_producer, closers)
