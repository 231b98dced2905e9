"""Composition root: builds the poller's object graph from configuration.

Tests and the demo pass overrides (a topic prefix, an HTTP transport, a time scale) instead
of patching anything.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import httpx
from confluent_kafka.admin import AdminClient

from chassis.audit import AUDIT_TOPIC, AuditTrail
from chassis.errors import PermanentError
from chassis.http import RetryPolicy
from chassis.kafka.dlq import DeadLetters
from chassis.kafka.held_keys import HOLDS_TOPIC
from chassis.kafka.producer import EventProducer, TransactionalProducer
from chassis.kafka.record import Record
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, dead_letter_topic, ensure_topics, redrive_topic
from events import topics
from events.notifications import VISMA_NOTIFICATIONS, VismaNotificationReceived
from visma_client.companies import company_client, company_secrets
from visma_client.entities import VISMA_ENTITIES
from visma_poller.company import CompanySchedule
from visma_poller.config import PollerConfig
from visma_poller.cursor import Cursor
from visma_poller.cursor_store import cursor_key, load_cursors
from visma_poller.poller import EntityPoller, Topics
from visma_poller.refusal import CredentialStatus
from visma_poller.rejects import DLQ_TOPIC

SERVICE = "visma-poller"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
NOTIFICATION_BUDGET = 60.0
"""Seconds a webhook's pull trigger is retried: the next scheduled poll reads it anyway."""
log = logging.getLogger(__name__)


@dataclass
class PollerOverrides:
    topic_prefix: str = ""
    transactional_id: str = SERVICE
    transport: httpx.AsyncBaseTransport | None = None
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(max_attempts=5, retry_server_errors=True)
    )
    time_scale: float = 1.0
    entities: tuple[str, ...] | None = None
    """Poll only these entity types (default: every entity the schedule enables)."""

    def topic(self, spec: TopicSpec) -> TopicSpec:
        return replace(spec, name=self.topic_prefix + spec.name) if self.topic_prefix else spec


class UnknownCompanyError(PermanentError):
    """A notification names a company this poller does not poll."""


class NotificationTrigger:
    """A Visma webhook notification makes its company pull that entity now."""

    def __init__(self, schedules: dict[tuple[str, str], CompanySchedule]) -> None:
        self._schedules = schedules

    async def __call__(self, record: Record) -> None:
        note = VismaNotificationReceived.from_record(record.value)
        schedule = self._schedules.get((note.tenant_id, note.company_id))
        if schedule is None:
            raise UnknownCompanyError(f"no company {note.tenant_id}/{note.company_id} here")
        if not schedule.trigger(note.entity_type):
            log.info("notification for an entity not polled", extra={"entity": note.entity_type})


@dataclass
class PollerApp:
    schedules: dict[tuple[str, str], CompanySchedule]
    notifications: ConsumerRunner
    http_clients: list[httpx.AsyncClient]
    producer: TransactionalProducer
    side_producer: EventProducer
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def ready(self) -> bool:
        return self.notifications.assigned

    def status(self) -> list[CredentialStatus]:
        """Each company's access to Visma, for health checks and the console."""
        return [schedule.status() for schedule in self.schedules.values()]

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        async def stop_runner() -> None:
            await self.stopping.wait()
            self.notifications.stop()

        try:
            await asyncio.gather(
                *(s.run(self.stopping) for s in self.schedules.values()),
                self.notifications.run(),
                stop_runner(),
            )
        finally:
            for client in self.http_clients:
                await client.aclose()
            self.producer.close()
            self.side_producer.close()


def _inside_transactions_only(key: str, value: bytes) -> None:
    raise RuntimeError("the poller writes audit events inside its page transactions")


def build(
    config: PollerConfig, settings: KafkaSettings, overrides: PollerOverrides | None = None
) -> PollerApp:
    o = overrides or PollerOverrides()
    serde = AvroSerde(SchemaCatalog.load())
    cursor_topic = o.topic(topics.STATE_POLL_CURSORS)
    notification_topic = o.topic(VISMA_NOTIFICATIONS)
    group = f"{o.transactional_id}-notifications"
    entity_topics = {name: o.topic(topics.visma_topic(name)) for name in VISMA_ENTITIES}
    rejects_topic = o.topic(DLQ_TOPIC)
    ensure_topics(
        AdminClient(settings.client_config(SERVICE)),
        [*entity_topics.values(), cursor_topic, notification_topic, AUDIT_TOPIC,
         dead_letter_topic(group), redrive_topic(group), rejects_topic, HOLDS_TOPIC],
        replication_factor=settings.replication_factor,
    )  # fmt: skip
    cursors = load_cursors(settings, serde, cursor_topic.name)
    producer = TransactionalProducer(settings, client=SERVICE, transactional_id=o.transactional_id)
    lock = asyncio.Lock()
    audit = AuditTrail(service=SERVICE, serde=serde, publish=_inside_transactions_only)
    page_topics = Topics(
        cursor_topic.name, AUDIT_TOPIC.name, {k: v.name for k, v in entity_topics.items()},
        dead_letters=rejects_topic.name,
    )  # fmt: skip
    secrets = company_secrets(config.companies)
    schedules, clients = {}, []
    for company in config.companies:
        client, http_clients = company_client(
            config, company, secrets[company.company_id],
            transport=o.transport, retry=o.retry, time_scale=o.time_scale,
        )  # fmt: skip
        clients += http_clients
        schedule = company.schedule(set(VISMA_ENTITIES))
        wanted = [e for e in schedule if o.entities is None or e in o.entities]
        pollers = {
            name: EntityPoller(
                tenant_id=company.tenant_id,
                company_id=company.company_id,
                entity=VISMA_ENTITIES[name],
                client=client,
                producer=producer,
                producer_lock=lock,
                serde=serde,
                audit=audit,
                topics=page_topics,
                cursor=cursors.get(
                    cursor_key(company.tenant_id, company.company_id, name), Cursor(since=EPOCH)
                ),
                overlap=timedelta(seconds=config.overlap_seconds),
                page_size=company.page_size,
            )
            for name in wanted
        }
        schedules[(company.tenant_id, company.company_id)] = CompanySchedule(
            company_id=company.company_id, pollers=pollers, schedule=schedule,
            budget_per_hour=company.hourly_budget, reserve=config.webhook_reserve,
            time_scale=o.time_scale,
        )  # fmt: skip
    side_producer = EventProducer(settings, f"{SERVICE}-notifications")
    notifications = ConsumerRunner(
        settings=settings,
        config=RunnerConfig(
            group_id=group, topics=(notification_topic.name,), retry_budget=NOTIFICATION_BUDGET
        ),
        handler=NotificationTrigger(schedules), serde=serde,
        dead_letters=DeadLetters(side_producer, group),
    )  # fmt: skip
    return PollerApp(schedules, notifications, clients, producer, side_producer)
