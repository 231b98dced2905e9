"""Polls one entity of one Visma company: pages of changed records become events.

Every page is one Kafka transaction holding its events, their `read` audit events and the
new cursor. A crash before the commit loses the page and its cursor together (the page is
read again); after it, the cursor says the page is done. Nothing is lost or repeated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import InvalidOperation

from prometheus_client import Counter

from chassis.audit import AUDIT_TOPIC, AuditTrail, Stage
from chassis.errors import ConnectorError, RetryableError
from chassis.kafka.producer import TransactionalProducer
from chassis.logcontext import correlation_headers, new_correlation_id
from chassis.serde import AvroSerde, SerdeError
from events import VismaEntityChanged
from events.topics import visma_topic
from visma_client.client import VismaClient, raw_json
from visma_client.entities import EntitySpec
from visma_client.errors import VismaCredentialsRefused
from visma_client.models import Page, VismaRecordDto
from visma_poller.cursor import Cursor, PollInProgress, version_of
from visma_poller.cursor_store import cursor_key, encode_cursor
from visma_poller.mapping import UnusableRecordError, entity_event
from visma_poller.rejects import DLQ_TOPIC, REJECTED, RejectedVersion, rejected_version
from visma_poller.window_watch import WindowWatch

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
    dead_letters: str = DLQ_TOPIC.name
    """Records that cannot be published, as Visma sent them (`rejects`)."""

    def events_for(self, entity: str) -> str:
        return self.events.get(entity) or visma_topic(entity).name


@dataclass(frozen=True)
class PollResult:
    events: int
    pages: int
    moved: bool = False
    """The result set changed under the poll: the cursor stayed at its start."""


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
        self._key_prefix = f"{tenant_id}/{company_id}/{entity.name}"
        self._on_page = on_page

    async def poll_once(self) -> PollResult:
        """One complete poll (or the rest of an interrupted one); every outcome is counted."""
        try:
            result = await self._poll()
        except VismaCredentialsRefused:
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
        watch = WindowWatch(resumed=poll.next_page > 1)
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
            published, record_ids = await self._publish_page(poll, page)
            watch.page(page.total_count, record_ids)
            published_total += published
            if self._on_page is not None:
                self._on_page(page.page_number, published)
            poll = PollInProgress(poll.since, poll.started_at, page.page_number + 1)
        if pages == 0 and poll.next_page == 1 and self._client.last_server_date is not None:
            # Nothing changed: the empty answer's Date, not our clock, is where we stand.
            poll = PollInProgress(poll.since, self._client.last_server_date, 1)
        moved = pages > 0 and watch.moved
        if moved:
            log.warning(
                "the result set moved during the poll; the next poll reads the window again",
                extra={"company": self.company_id, "entity": self.entity.name,
                       "since": poll.since.isoformat(), "why": watch.describe()},
            )  # fmt: skip
        await self._commit(self.cursor.after_poll(poll, overlap=self._overlap, moved=moved), [])
        EVENTS.labels(self.company_id, self.entity.name).inc(published_total)
        return PollResult(published_total, pages, moved=moved)

    async def _publish_page(
        self, poll: PollInProgress, page: Page[VismaRecordDto]
    ) -> tuple[int, set[str]]:
        """Commits the page's new versions (and its rejects) with the cursor; returns how
        many events were published and the ids of every record the page held."""
        observed_at = self._now()
        records: list[PendingRecord] = []
        remembered: dict[str, datetime] = {}
        record_ids: set[str] = set()
        published = 0
        # (raw JSON, reason, whether the record's id is already among `record_ids`)
        rejects = [(r.raw, r.reason, False) for r in page.rejected]
        for dto, source in zip(page.items, page.sources or [None] * len(page.items), strict=True):
            entity_id: str | None = None
            try:
                event = entity_event(
                    self.entity.name,
                    dto,
                    tenant_id=self.tenant_id,
                    company_id=self.company_id,
                    observed_at=observed_at,
                )
                entity_id = event.entity_id
                record_ids.add(entity_id)
                version = version_of(entity_id, event.last_modified)
                if not self.cursor.is_new(version) or version in remembered:
                    continue
                value = self._serde.encode(event.SCHEMA, event.to_record())
            except (UnusableRecordError, SerdeError, InvalidOperation) as exc:
                raw = raw_json(source) if source is not None else dto.model_dump_json(by_alias=True)
                rejects.append((raw, self._reason(entity_id, exc), entity_id is not None))
                continue
            remembered[version] = event.last_modified
            records += self._event_records(event, value)
            published += 1
        for position, (raw, reason, counted) in enumerate(rejects):
            rejected = rejected_version(
                raw, reason, key_prefix=self._key_prefix, read_at=poll.started_at
            )
            if not counted:
                # No id to tell two such records apart (or one read twice): count each read.
                record_ids.add(f"{rejected.key}#{page.page_number}.{position}")
            if self.cursor.is_new(rejected.version) and rejected.version not in remembered:
                remembered[rejected.version] = rejected.modified
                records += self._reject_records(rejected)
        await self._commit(self.cursor.after_page(poll, remembered), records)
        return published, record_ids

    def _reason(self, entity_id: str | None, exc: Exception) -> str:
        if isinstance(exc, UnusableRecordError):
            return str(exc)
        # InvalidOperation says nothing by itself: it is an amount the event's decimal
        # (its precision and scale) cannot hold.
        why = (
            "an amount does not fit the event's decimal"
            if isinstance(exc, InvalidOperation)
            else str(exc)
        )
        return f"{self.entity.name} {entity_id} cannot be encoded: {why}"

    def _event_records(self, event: VismaEntityChanged, value: bytes) -> list[PendingRecord]:
        headers: list[tuple[str, str | bytes | None]] = [*correlation_headers(new_correlation_id())]
        key, audit = self._audit.event(
            Stage.READ,
            entity_id=event.entity_id,
            event_id=event.event_id,
            detail=f"{event.change_type.value} in {self.company_id}",
        )
        return [
            (self._topics.events_for(self.entity.name), event.key, value, headers),
            (self._topics.audit, key, audit, headers),
        ]

    def _reject_records(self, rejected: RejectedVersion) -> list[PendingRecord]:
        """The DLQ record (Visma's JSON as sent, with the reason) and its audit event."""
        log.error(
            "visma record dead-lettered",
            extra={"company": self.company_id, "entity": self.entity.name,
                   "key": rejected.key, "error": rejected.reason[:300]},
        )  # fmt: skip
        REJECTED.labels(self.company_id, self.entity.name).inc()
        key, audit = self._audit.event(
            Stage.FAILED, entity_id=rejected.key, detail=rejected.reason[:1000]
        )
        headers = rejected.headers(company_id=self.company_id, entity=self.entity.name)
        return [
            (self._topics.dead_letters, rejected.key, rejected.raw.encode(), headers),
            (self._topics.audit, key, audit, []),
        ]

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
