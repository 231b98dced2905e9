"""Polls one Visma company: pages of changed supplier invoices become events.

Every page is one Kafka transaction holding its events, their `read` audit events and the
new cursor. A crash before the commit loses the page and its cursor together (the page is
read again); after it, the cursor says the page is done. Nothing is lost or repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter

from chassis.audit import AUDIT_TOPIC, AuditTrail, Stage
from chassis.errors import RetryableError
from chassis.kafka.producer import TransactionalProducer
from chassis.logcontext import correlation_headers, new_correlation_id
from chassis.serde import AvroSerde
from visma_client.client import VismaClient
from visma_client.models import SupplierInvoiceDto
from visma_poller.cursor import Cursor, PollInProgress, version_of
from visma_poller.cursor_store import cursor_key, encode_cursor
from visma_poller.mapping import ENTITY_TYPE, UnusableRecordError, supplier_invoice_event

log = logging.getLogger(__name__)

EVENTS = Counter("mlc_visma_events_total", "Events published", ["company", "entity"])
POLLS = Counter("mlc_visma_polls_total", "Polls finished", ["company", "entity", "outcome"])


PendingRecord = tuple[str, str, bytes, list[tuple[str, str | bytes | None]]]
"""topic, key, value, headers: one record of a page transaction."""


@dataclass(frozen=True)
class Topics:
    events: str
    cursors: str
    audit: str = AUDIT_TOPIC.name


class CompanyPoller:
    def __init__(
        self,
        *,
        tenant_id: str,
        company_id: str,
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
    ) -> None:
        self.tenant_id = tenant_id
        self.company_id = company_id
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
        self._cursor_key = cursor_key(tenant_id, company_id, ENTITY_TYPE)

    async def poll_once(self) -> int:
        """One complete poll (or the rest of an interrupted one); returns events published."""
        poll = self.cursor.begin(self._now())
        published_total = 0
        async for page in self._client.iter_supplier_invoice_pages(
            modified_since=poll.since, page_size=self._page_size, first_page=poll.next_page
        ):
            if poll.next_page == 1 and page.page_number == 1 and page.server_date is not None:
                # The server's clock, not ours, bounds what this poll can have seen.
                poll = PollInProgress(poll.since, min(poll.started_at, page.server_date), 1)
            published_total += await self._publish_page(poll, page.items)
            poll = PollInProgress(poll.since, poll.started_at, page.page_number + 1)
        await self._commit(self.cursor.after_poll(poll, overlap=self._overlap), [])
        EVENTS.labels(self.company_id, ENTITY_TYPE).inc(published_total)
        POLLS.labels(self.company_id, ENTITY_TYPE, "ok").inc()
        return published_total

    async def _publish_page(self, poll: PollInProgress, items: list[SupplierInvoiceDto]) -> int:
        observed_at = self._now()
        records: list[PendingRecord] = []
        batch = []
        published: dict[str, datetime] = {}
        for dto in items:
            try:
                event = supplier_invoice_event(
                    dto,
                    tenant_id=self.tenant_id,
                    company_id=self.company_id,
                    observed_at=observed_at,
                )
            except UnusableRecordError as exc:
                # Without a change time the record cannot be tracked; say so loudly, go on.
                log.error("unusable record", extra={"company": self.company_id, "error": str(exc)})
                key, value = self._audit.event(
                    Stage.FAILED,
                    entity_id=f"{self.tenant_id}/{self.company_id}/{ENTITY_TYPE}/"
                    f"?:{dto.reference_number}",
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
            records.append((self._topics.events, event.key, value, headers))
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
            entity_type=ENTITY_TYPE,
        )

        def write() -> None:
            with self._producer.transaction() as tx:
                for topic, key, payload, headers in records:
                    tx.produce(topic, key=key, value=payload, headers=headers)
                tx.produce(self._topics.cursors, key=self._cursor_key, value=value)

        async with self._producer_lock:
            await asyncio.to_thread(write)
        self.cursor = cursor

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        """Polls every `interval` seconds until `stop` is set; transient failures wait a round."""
        while not stop.is_set():
            try:
                count = await self.poll_once()
                log.info("poll done", extra={"company": self.company_id, "events": count})
            except RetryableError as exc:
                POLLS.labels(self.company_id, ENTITY_TYPE, "retry").inc()
                log.warning(
                    "poll failed, will try again",
                    extra={"company": self.company_id, "error": str(exc)},
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
