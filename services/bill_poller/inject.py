"""Composition root of the BILL poller; tests and the demo pass overrides, never patches.

It creates the topics, reads every committed cursor, and builds one `OrganizationPoller` per
configured organization on one transactional producer. Organizations that share a devKey
share one hourly poll budget (BILL counts calls per devKey).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from confluent_kafka.admin import AdminClient

from bill_poller.config import BillOrganization, BillPollerFile, BillPollerSettings
from bill_poller.cycle import BillPoller
from bill_poller.facts import PolledFacts
from bill_poller.poller import Entity, Organization, OrganizationPoller
from bill_poller.source import BillSource
from chassis.audit import AUDIT_TOPIC, AuditTrail
from chassis.kafka.outputs import serde_for
from chassis.kafka.poll_cursors import load_poll_cursors
from chassis.kafka.producer import TransactionalProducer
from chassis.kafka.transactions import KafkaTransactions
from chassis.ratelimit import HourlyBudget
from chassis.settings import KafkaSettings, RegistrySettings
from chassis.topics import TopicSpec, ensure_topics
from events.bill import BILL_BILLS, BILL_VENDORS
from events.topics import STATE_POLL_CURSORS

SERVICE = "bill-poller"

OpenedSource = tuple[BillSource, Callable[[], Awaitable[None]]]
"""An organization's BILL and how to close it."""


@dataclass
class BillPollerOptions:
    open_source: Callable[[BillOrganization], OpenedSource]
    """BILL for one organization (a `bill_client.BillClient` signed in with its credentials)."""
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    """BILL's time as near as the poller knows it: when a poll starts."""
    budget_clock: Callable[[], float] = time.monotonic


@dataclass
class BillPollerApp:
    poller: BillPoller
    every_seconds: float
    producer: TransactionalProducer
    closers: list[Callable[[], Awaitable[None]]]
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def ready(self) -> bool:
        return not self.stopping.is_set()

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        try:
            await self.poller.run_forever(self.stopping, every_seconds=self.every_seconds)
        finally:
            for close in self.closers:
                await close()
            self.producer.close()


def poll_budgets(config: BillPollerFile, *, clock: Callable[[], float]) -> dict[str, HourlyBudget]:
    """Each organization's hourly poll budget: one per devKey, shared by the organizations
    that use the key (BILL counts calls per devKey)."""
    by_key: dict[str, HourlyBudget] = {}
    return {
        organization.organization_id: by_key.setdefault(
            organization.dev_key_credential, HourlyBudget(config.hourly_poll_budget, clock=clock)
        )
        for _, organization in config.organizations()
    }


def _inside_transactions_only(key: str, value: bytes) -> None:
    raise RuntimeError("the BILL poller writes audit events inside its page transactions")


def build(
    kafka: KafkaSettings,
    settings: BillPollerSettings,
    config: BillPollerFile,
    options: BillPollerOptions,
) -> BillPollerApp:
    def prefixed(spec: TopicSpec) -> TopicSpec:
        return replace(spec, name=settings.topic_prefix + spec.name)

    topics: dict[Entity, TopicSpec] = {
        "vendor": prefixed(BILL_VENDORS), "bill": prefixed(BILL_BILLS)}  # fmt: skip
    cursor_topic = prefixed(STATE_POLL_CURSORS)
    ensure_topics(
        AdminClient(kafka.client_config(SERVICE)), [*topics.values(), cursor_topic, AUDIT_TOPIC],
        replication_factor=kafka.replication_factor,
    )  # fmt: skip
    serde = serde_for(RegistrySettings())
    cursors = load_poll_cursors(
        kafka, serde, cursor_topic.name, client=f"{SERVICE}-cursors", source="bill")  # fmt: skip
    producer = TransactionalProducer(
        kafka, client=SERVICE, transactional_id=settings.transactional_id)  # fmt: skip
    transactions = KafkaTransactions(producer)
    audit = AuditTrail(service=SERVICE, serde=serde, publish=_inside_transactions_only)
    fact_topics = {entity: spec.name for entity, spec in topics.items()}
    facts = PolledFacts(serde, topics=fact_topics, audit=audit)
    budgets = poll_budgets(config, clock=options.budget_clock)
    pollers, closers = [], []
    for tenant_id, organization in config.organizations():
        source, close = options.open_source(organization)
        closers.append(close)
        budget = budgets[organization.organization_id]
        poller = OrganizationPoller(
            organization=Organization(tenant_id, organization.organization_id),
            source=source, transactions=transactions, encoder=facts, serde=serde,
            cursor_topic=cursor_topic.name, cursors=cursors, budget=budget,
            overlap=timedelta(seconds=config.overlap_seconds), page_size=config.page_size,
            now=options.now,
        )  # fmt: skip
        pollers.append(poller)
    return BillPollerApp(
        poller=BillPoller(pollers), every_seconds=config.every_seconds, producer=producer,
        closers=closers,
    )  # fmt: skip
