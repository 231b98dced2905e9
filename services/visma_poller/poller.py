"""Polls one entity of one Visma company: pages of changed records become events.

Every page is one Kafka transaction holding its events, their `read` audit events and the
new cursor. A crash before the commit loses the page and its cursor together (the page is
read again); after it, the cursor says the page is done. Nothing is lost or repeated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter

from chassis.audit import AUDIT_TOPIC, AuditTrail, Stage
from chassis.errors import ConnectorError, RetryableError
from chassis.kafka.producer import TransactionalProducer
from chassis.logcontext import correlation_headers, new_correlation_id
from chassis.serde import AvroSerde
from events.topics import visma_topic
from visma_client.client import VismaClient
from visma_client.entities import EntitySpec
from visma_client.errors import VismaAuthError
from visma_client.models import VismaModel
from visma_poller.cursor import Cursor, PollInProgress, version_of
from visma_poller.cursor_store import cursor_key, encode_cursor
from visma_poller.mapping import UnusableRecordError, entity_event

log = logging.getLogger(__name__)

EVENTS = Counter("mlc_visma_events_total", "Events published", ["company", "entity"])
POLLS = Counter(
    "mlc_visma_polls_total",
    "Polls by outcome: ok, refused (credentials), unavailable (retryable), failed, error (a bug)",
    ["company", "entity", "outcome"],
)
PAGES = Counter("mlc_visma_pages_total", "List pages read", ["company", "entity"])


PendingRecord = tuple[str, str, bytes, list[tuple[str, str | bytes | None]]]
"""topic, key, value, headers: one record of a page transaction."""


@dataclass(frozen=True)
class Topics:
    cursors: str
    audit: str = AUDIT_TOPIC.name
    events: Mapping[str, str] = field(default_factory=dict)
    """entity type -> events topic; entities not named use the catalogue's topic."""

    def events_for(self, entity: str) -> str:
        return self.events.get(entity) or visma_topic(entity).name


@dataclass(frozen=True)
class PollResult:
    events: int
    pages: int


class EntityPoller:
    def __init__(
        self,
        *,
        tenant_id: str,
        company_id: str,
        entity: EntitySpec,
        client: VismaClient,
        producer: TransactionalProducer,
        producer_lock: asyncio.Lock,
        serde: AvroSerde,
        audit: AuditTrail,
        topics: Topics,
        cursor: Cursor,
        overlap: timedelta,
        page_size: int,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        cursor_name: str | None = None,
        on_page: Callable[[int, int], object] | None = None,
    ) -> None:
        """`cursor_name` keeps a separate cursor (a backfill's); `on_page(page, events)`
        reports progress after each committed page."""
        self.tenant_id = tenant_id
        self.company_id = company_id
        self.entity = entity
        self._client = client
        self._producer = producer
        self._producer_lock = producer_lock
        self._serde = serde
        self._audit = audit
        self._topics = topics
        self.cursor = cursor
        self._overlap = overlap
        self._page_size = page_size
        self._now = now
        self._cursor_key = cursor_name or cursor_key(tenant_id, company_id, entity.name)
        self._on_page = on_page

    async def poll_once(self) -> PollResult:
        """One complete poll (or the rest of an interrupted one); every outcome is counted."""
        try:
            result = await self._poll()
        except VismaAuthError:
            self._count("refused")
            raise
        except RetryableError:
            self._count("unavailable")
            raise
        except ConnectorError:
            self._count("failed")
            raise
        except Exception:
            self._count("error")  # counted, then it stops the service: a bug, not an outcome
            raise
        self._count("ok")
        return result

    def _count(self, outcome: str) -> None:
        POLLS.labels(self.company_id, self.entity.name, outcome).inc()

    async def _poll(self) -> PollResult:
        poll = self.cursor.begin(self._now())
        published_total = 0
        pages = 0
        async for page in self._client.iter_entity_pages(
            self.entity,
            modified_since=poll.since,
            page_size=self._page_size,
            first_page=poll.next_page,
        ):
            pages += 1
            PAGES.labels(self.company_id, self.entity.name).inc()
            if poll.next_page == 1 and page.page_number == 1 and page.server_date is not None:
                # Cursors live in the server's clock: its Date (whole seconds, so never late)
                # bounds what this poll can have seen, whatever our own clock says.
                poll = PollInProgress(poll.since, page.server_date, 1)
            published = await self._publish_page(poll, page.items)
            published_total += published
            if self._on_page is not None:
                self._on_page(page.page_number, published)
            poll = PollInProgress(poll.since, poll.started_at, page.page_number + 1)
        if pages == 0 and poll.next_page == 1 and self._client.last_server_date is not None:
            # Nothing changed: the empty answer's Date, not our clock, is where we stand.
            poll = PollInProgress(poll.since, self._client.last_server_date, 1)
        await self._commit(self.cursor.after_poll(poll, overlap=self._overlap), [])
        EVENTS.labels(self.company_id, self.entity.name).inc(published_total)
        return PollResult(published_total, pages)

    async def _publish_page(self, poll: PollInProgress, items: Sequence[VismaModel]) -> int:
        observed_at = self._now()
        records: list[PendingRecord] = []
        batch = []
        published: dict[str, datetime] = {}
        for dto in items:
            try:
                event = entity_event(
                    self.entity.name,
                    dto,
                    tenant_id=self.tenant_id,
                    company_id=self.company_id,
                    observed_at=observed_at,
                )
            except UnusableRecordError as exc:
                # Without an id or a change time the record cannot be tracked: say so, go on.
                log.error("unusable record", extra={"company": self.company_id, "error": str(exc)})
                key, value = self._audit.event(
                    Stage.FAILED,
                    entity_id=f"{self.tenant_id}/{self.company_id}/{self.entity.name}/?",
                    detail=str(exc),
                )
                records.append((self._topics.audit, key, value, []))
                continue
            version = version_of(event.entity_id, event.last_modified)
            if not self.cursor.is_new(version) or version in published:
                continue
            published[version] = event.last_modified
            batch.append(event)
        cursor = self.cursor.after_page(poll, published, overlap=self._overlap)
        for event in batch:
            headers: list[tuple[str, str | bytes | None]] = [
                *correlation_headers(new_correlation_id())
            ]
            value = self._serde.encode(event.SCHEMA, event.to_record())
            records.append((self._topics.events_for(self.entity.name), event.key, value, headers))
            key, value = self._audit.event(
                Stage.READ,
                entity_id=event.entity_id,
                event_id=event.event_id,
                detail=f"{event.change_type.value} in {self.company_id}",
            )
            records.append((self._topics.audit, key, value, headers))
        await self._commit(cursor, records)
        return len(batch)

    async def _commit(self, cursor: Cursor, records: list[PendingRecord]) -> None:
        value = encode_cursor(
            self._serde,
            cursor,
            tenant_id=self.tenant_id,
            company_id=self.company_id,
            entity_type=self.entity.name,
        )

        def write() -> None:
            with self._producer.transaction() as tx:
                for topic, key, payload, headers in records:
                    tx.produce(topic, key=key, value=payload, headers=headers)
                tx.produce(self._topics.cursors, key=self._cursor_key, value=value)

        async with self._producer_lock:
            await asyncio.to_thread(write)
        self.cursor = cursor
