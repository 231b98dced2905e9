"""Composition root: builds the poller's object graph from configuration.

Tests and the demo pass overrides (topic names, an HTTP transport) instead of patching.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from confluent_kafka.admin import AdminClient

from chassis.audit import AUDIT_TOPIC, AuditTrail
from chassis.http import RetryPolicy, build_async_client
from chassis.jsonlog import REDACTOR
from chassis.kafka.producer import TransactionalProducer
from chassis.ratelimit import HourlyBudget
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from events import topics
from visma_client.auth import TokenProvider
from visma_client.client import VismaClient
from visma_client.config import VismaCredentials
from visma_poller.config import PollerConfig
from visma_poller.cursor import Cursor
from visma_poller.cursor_store import cursor_key, load_cursors
from visma_poller.mapping import ENTITY_TYPE
from visma_poller.poller import CompanyPoller, Topics

SERVICE = "visma-poller"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class PollerOverrides:
    events_topic: TopicSpec = topics.VISMA_SUPPLIER_INVOICES
    cursor_topic: TopicSpec = topics.STATE_POLL_CURSORS
    audit_topic: TopicSpec = AUDIT_TOPIC
    transactional_id: str = SERVICE
    transport: httpx.AsyncBaseTransport | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class PollerApp:
    pollers: list[tuple[CompanyPoller, float]]
    http_clients: list[httpx.AsyncClient]
    producer: TransactionalProducer

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await asyncio.gather(*(p.run(interval, stop) for p, interval in self.pollers))
        finally:
            for client in self.http_clients:
                await client.aclose()
            self.producer.close()


def _inside_transactions_only(key: str, value: bytes) -> None:
    raise RuntimeError("the poller writes audit events inside its page transactions")


def build(
    config: PollerConfig,
    settings: KafkaSettings,
    overrides: PollerOverrides | None = None,
) -> PollerApp:
    o = overrides or PollerOverrides()
    serde = AvroSerde(SchemaCatalog.load())
    ensure_topics(
        AdminClient(settings.client_config(SERVICE)),
        [o.events_topic, o.cursor_topic, o.audit_topic],
        replication_factor=settings.replication_factor,
    )
    cursors = load_cursors(settings, serde, o.cursor_topic.name)
    producer = TransactionalProducer(settings, client=SERVICE, transactional_id=o.transactional_id)
    lock = asyncio.Lock()
    audit = AuditTrail(service=SERVICE, serde=serde, publish=_inside_transactions_only)
    pollers, clients = [], []
    for company in config.companies:
        secret = company.client_secret()
        REDACTOR.register(secret)
        token_http = build_async_client(config.token_url, transport=o.transport, retry=o.retry)
        api_http = build_async_client(config.api_base, transport=o.transport, retry=o.retry)
        clients += [token_http, api_http]
        tokens = TokenProvider(
            token_http,
            credentials=VismaCredentials(
                client_id=company.client_id, client_secret=secret, tenant_id=company.tenant_id
            ),
            token_url=config.token_url,
        )
        client = VismaClient(
            api_http,
            tokens=tokens,
            company_id=company.company_id,
            budget=HourlyBudget(company.hourly_budget),
            send_company_header=config.send_company_header,
        )
        key = cursor_key(company.tenant_id, company.company_id, ENTITY_TYPE)
        poller = CompanyPoller(
            tenant_id=company.tenant_id,
            company_id=company.company_id,
            client=client,
            producer=producer,
            producer_lock=lock,
            serde=serde,
            audit=audit,
            topics=Topics(o.events_topic.name, o.cursor_topic.name, o.audit_topic.name),
            cursor=cursors.get(key, Cursor(since=EPOCH)),
            overlap=timedelta(seconds=config.overlap_seconds),
            page_size=company.page_size,
        )
        pollers.append((poller, company.poll_interval_seconds))
    return PollerApp(pollers, clients, producer)
