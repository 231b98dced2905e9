"""`mlc visma backfill`: replay a company's history of one entity into the live topics.

It reads every record changed since a date and publishes it with the same event ids the live
poller would, so consumers that have seen a version drop it again. Its progress is its own
cursor (`<live cursor key>#backfill-<since>`): an interrupted backfill goes on where it
stopped, and the live cursor is never touched.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from confluent_kafka.admin import AdminClient

from chassis.audit import AUDIT_TOPIC, AuditTrail
from chassis.errors import ConnectorError
from chassis.kafka.producer import TransactionalProducer
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import ensure_topics
from events import topics
from visma_client.companies import company_client, company_secrets
from visma_client.entities import VISMA_ENTITIES
from visma_poller.config import CompanyConfig, ConfigError, PollerConfig, load_config
from visma_poller.cursor import Cursor
from visma_poller.cursor_store import cursor_key, load_cursors
from visma_poller.inject import PollerOverrides
from visma_poller.poller import EntityPoller, Topics
from visma_poller.rejects import DLQ_TOPIC

SERVICE = "visma-backfill"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, help="the poller's companies YAML")
    p.add_argument("--company", required=True, help="company id as in the YAML")
    p.add_argument("--entity", required=True, choices=sorted(VISMA_ENTITIES), metavar="ENTITY",
                   help=f"one of: {', '.join(sorted(VISMA_ENTITIES))}")  # fmt: skip
    p.add_argument("--since", required=True, type=date.fromisoformat, help="YYYY-MM-DD (UTC)")
    p.add_argument("--topic-prefix", default="", help="as given to the poller")


def run_backfill(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        company = next((c for c in config.companies if c.company_id == args.company), None)
        if company is None:
            raise ConfigError(f"{args.config}: no company {args.company}")
        return asyncio.run(_backfill(args, config, company))
    except (ConfigError, ConnectorError) as exc:
        print(f"mlc visma backfill: {exc}", file=sys.stderr)
        return 2


async def _backfill(args: argparse.Namespace, config: PollerConfig, company: CompanyConfig) -> int:
    settings = KafkaSettings()
    overrides = PollerOverrides(topic_prefix=args.topic_prefix)
    serde = AvroSerde(SchemaCatalog.load())
    events_topic = overrides.topic(topics.visma_topic(args.entity))
    cursor_topic = overrides.topic(topics.STATE_POLL_CURSORS)
    rejects_topic = overrides.topic(DLQ_TOPIC)
    ensure_topics(AdminClient(settings.client_config(SERVICE)),
                  [events_topic, cursor_topic, AUDIT_TOPIC, rejects_topic])  # fmt: skip
    since = datetime.combine(args.since, datetime.min.time(), UTC)
    name = (
        f"{cursor_key(company.tenant_id, company.company_id, args.entity)}#backfill-{since:%Y%m%d}"
    )
    cursor = load_cursors(settings, serde, cursor_topic.name).get(name, Cursor(since=since))
    secret = company_secrets([company])[company.company_id]
    client, http_clients = company_client(
        config, company, secret, transport=overrides.transport, retry=overrides.retry
    )
    producer = TransactionalProducer(settings, client=SERVICE, transactional_id=f"{SERVICE}-{name}")
    total = 0

    def progress(page: int, events: int) -> None:
        nonlocal total
        total += events
        print(f"page {page}: {events} events ({total} so far)", flush=True)

    poller = EntityPoller(
        tenant_id=company.tenant_id, company_id=company.company_id,
        entity=VISMA_ENTITIES[args.entity], client=client, producer=producer,
        producer_lock=asyncio.Lock(), serde=serde,
        audit=AuditTrail(service=SERVICE, serde=serde, publish=_no_direct_audit),
        topics=Topics(cursor_topic.name, AUDIT_TOPIC.name, {args.entity: events_topic.name},
                      dead_letters=rejects_topic.name),
        cursor=cursor, overlap=timedelta(0), page_size=company.page_size,
        cursor_name=name, on_page=progress,
    )  # fmt: skip
    try:
        result = await poller.poll_once()
        passes, pages = 1, result.pages
        # The list moved while it was read: a record may have slipped past a page edge.
        # Read the same window again (what was published is skipped), a bounded number of times.
        while result.moved and passes < MAX_PASSES:
            print(f"the list changed during the read; reading again (pass {passes + 1})")
            result = await poller.poll_once()
            passes, pages = passes + 1, pages + result.pages
    finally:
        for http in http_clients:
            await http.aclose()
        producer.close()
    print(f"backfill of {args.entity} in {company.company_id} since {args.since}: "
          f"{total} events from {pages} pages into {events_topic.name}")  # fmt: skip
    return 0


MAX_PASSES = 4


def _no_direct_audit(key: str, value: bytes) -> None:
    raise RuntimeError("the backfill writes audit events inside its page transactions")
