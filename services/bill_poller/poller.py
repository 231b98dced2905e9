"""Polls one BILL organization: its changed vendors and bills become canonical events.

A webhook is delivered once and retried only a little, so the poll is what guarantees that
no change is lost. Per entity (vendors, then bills, so a bill's vendor is usually published
first) a poll asks for every record with `updatedTime` at or after the cursor's `since`; the
records read are published in batches of `page_size` (BILL's page), each batch with its
events and the new cursor in ONE Kafka transaction (`chassis.delta_cursor`):

- a crash before a commit loses that batch and its cursor together: the restarted poll
  reads again from the same `since` and skips every version already committed (`seen`),
  so nothing is lost and nothing is published twice;
- a record changed while the poll pages is either read at its new version in this poll or,
  having been read already, has an `updatedTime` after the poll's start, and the next poll
  reads from the start (or the newest change read, if earlier) minus `overlap`; the
  overlap's re-read versions are in `seen`.

The first poll of an organization starts at the epoch: a firm's vendors and bills from
before the connector are published too (its suppliers must exist in Visma).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from prometheus_client import Counter

from bill_poller.source import BillSource, ChangedRecord
from chassis.delta_cursor import Cursor, version_of
from chassis.kafka.poll_cursors import encode_poll_cursor, poll_cursor_key
from chassis.kafka.transactions import Outgoing, Transactions
from chassis.serde import AvroSerde

log = logging.getLogger(__name__)

SOURCE = "bill"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Entity = Literal["vendor", "bill"]
ENTITIES: tuple[Entity, ...] = ("vendor", "bill")

BATCHES = Counter("mlc_bill_poll_batches_total", "Batches committed (events + cursor)", ["entity"])


class EventEncoder(Protocol):
    def encode(
        self, entity: Entity, record: ChangedRecord, *, tenant_id: str, organization_id: str
    ) -> Sequence[Outgoing]:
        """The record's canonical event (and its audit event) as (topic, key, value)."""


class CallBudget(Protocol):
    async def acquire(self) -> None:
        """Spends one call of the devKey's hourly poll budget, waiting when it is spent."""


@dataclass(frozen=True)
class Organization:
    tenant_id: str
    organization_id: str


def cursor_key(organization: Organization, entity: Entity) -> str:
    return poll_cursor_key(SOURCE, organization.tenant_id, organization.organization_id, entity)


class OrganizationPoller:
    def __init__(
        self,
        *,
        organization: Organization,
        source: BillSource,
        transactions: Transactions,
        encoder: EventEncoder,
        serde: AvroSerde,
        cursor_topic: str,
        cursors: dict[str, Cursor],
        budget: CallBudget,
        overlap: timedelta,
        page_size: int = 100,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`now` is BILL's clock as near as we know it (a poll's start); `cursors` is shared
        and kept up to date with every commit."""
        self.organization = organization
        self.source = source
        self._transactions = transactions
        self._encoder = encoder
        self._serde = serde
        self._cursor_topic = cursor_topic
        self._cursors = cursors
        self._budget = budget
        self._overlap = overlap
        self._page_size = page_size
        self._now = now

    def cursor(self, entity: Entity) -> Cursor:
        return self._cursors.get(cursor_key(self.organization, entity)) or Cursor(since=EPOCH)

    async def poll(self, entity: Entity) -> int:
        """One complete poll of `entity` (or the rest of an interrupted one); the events
        published."""
        cursor = self.cursor(entity)
        poll = cursor.begin(self._now())
        batch: list[Outgoing] = []
        versions: dict[str, datetime] = {}
        read = published = 0
        newest = poll.since
        await self._budget.acquire()
        async for record in self._records(entity, since=poll.since):
            read += 1
            newest = max(newest, record.updated_time)
            version = version_of(record.id, record.updated_time)
            if cursor.is_new(version) and version not in versions:
                batch.extend(self._event(entity, record))
                versions[version] = record.updated_time
            if read % self._page_size == 0:
                if batch:
                    cursor = await self._commit(entity, cursor.after_page(poll, versions), batch)
                    published += len(versions)
                    batch, versions = [], {}
                await self._budget.acquire()  # the client reads the next page
        # The next poll reads from the poll's start minus the overlap, or from the newest
        # change read minus the overlap if that is earlier: a connector clock running ahead
        # of BILL's never moves `since` past a change BILL stamped after the poll began.
        start = replace(poll, started_at=min(poll.started_at, newest))
        done = cursor.after_page(poll, versions).after_poll(
            start, overlap=self._overlap, moved=False
        )
        await self._commit(entity, done, batch)
        return published + len(versions)

    def _records(self, entity: Entity, *, since: datetime) -> AsyncIterator[ChangedRecord]:
        if entity == "vendor":
            return self.source.vendors(updated_since=since)
        return self.source.bills(updated_since=since)

    def _event(self, entity: Entity, record: ChangedRecord) -> Sequence[Outgoing]:
        return self._encoder.encode(
            entity, record, tenant_id=self.organization.tenant_id,
            organization_id=self.organization.organization_id,
        )  # fmt: skip

    async def _commit(self, entity: Entity, cursor: Cursor, batch: list[Outgoing]) -> Cursor:
        key = cursor_key(self.organization, entity)
        value = encode_poll_cursor(
            self._serde, cursor, source=SOURCE, tenant_id=self.organization.tenant_id,
            company_id=self.organization.organization_id, entity_type=entity,
        )  # fmt: skip
        await self._transactions.publish([*batch, (self._cursor_topic, key, value)])
        self._cursors[key] = cursor
        BATCHES.labels(entity).inc()
        return cursor
