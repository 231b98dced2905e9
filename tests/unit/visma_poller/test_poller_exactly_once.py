"""The poller's delta logic against a fake Visma list and a fake transactional producer.

Checks the guarantees that do not need a broker: each change is published once, including a
change whose lastModified equals the cursor, changes that land during a poll, and a crash
between two page transactions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from prometheus_client import REGISTRY

from chassis.audit import AuditTrail
from chassis.serde import AvroSerde, SchemaCatalog
from visma_client.entities import VISMA_ENTITIES, EntitySpec
from visma_client.errors import (
    VismaAuthError,
    VismaCredentialsRefused,
    VismaRequestRejected,
    VismaUnavailable,
)
from visma_client.models import Page, SupplierInvoiceDto
from visma_poller.cursor import MAX_REMEMBERED, Cursor, version_of
from visma_poller.cursor_store import decode_cursor
from visma_poller.poller import EntityPoller, Topics

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SERDE = AvroSerde(SchemaCatalog.load())


@dataclass
class FakeVisma:
    """Invoices in creation order with lastModified; pages of `page_size` like the API."""

    now: datetime = T0
    rows: dict[str, datetime] = field(default_factory=dict)
    on_page: Any = None
    fail_with: Exception | None = None

    @property
    def last_server_date(self) -> datetime:
        return self.now

    def change(self, number: str, at: datetime | None = None) -> None:
        self.rows[number] = at or self.now

    async def iter_entity_pages(
        self,
        entity: EntitySpec,
        *,
        modified_since: datetime,
        page_size: int,
        first_page: int = 1,
        **_: Any,
    ) -> AsyncIterator[Page[SupplierInvoiceDto]]:
        assert entity.name == "supplierInvoice"
        if self.fail_with is not None:
            raise self.fail_with
        page = first_page
        while True:
            matching = [(n, m) for n, m in self.rows.items() if m >= modified_since]
            chunk = matching[(page - 1) * page_size : page * page_size]
            if not chunk:
                return
            yield Page(
                items=[_dto(n, m) for n, m in chunk],
                page_number=page,
                total_count=len(matching),
                server_date=self.now,
            )
            if self.on_page is not None:
                self.on_page(page)
            if page * page_size >= len(matching):
                return
            page += 1


def _dto(number: str, modified: datetime) -> SupplierInvoiceDto:
    return SupplierInvoiceDto.model_validate({
        "documentType": "Invoice", "referenceNumber": number, "currencyId": "SEK",
        "amount": 1000.5, "lastModifiedDateTime": modified.isoformat(),
        "createdDateTime": T0.isoformat(), "supplier": {"number": "1", "name": "Nord AB"},
    })  # fmt: skip


class Crash(Exception):
    pass


@dataclass
class FakeProducer:
    """Keeps records of committed transactions only; can crash at the n-th commit."""

    committed: list[tuple[str, str, bytes]] = field(default_factory=list)
    crash_at_commit: int | None = None
    commits: int = 0

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        pending: list[tuple[str, str, bytes]] = []

        class Tx:
            def produce(self, topic: str, *, key: str, value: bytes, **_: Any) -> None:
                pending.append((topic, key, value))

        yield Tx()
        self.commits += 1
        if self.crash_at_commit == self.commits:
            raise Crash("killed before the commit")
        self.committed.extend(pending)

    def events(self) -> list[str]:
        return [SERDE.decode(v)[1]["event_id"] for t, _, v in self.committed if t == "events"]

    def last_cursor(self) -> Cursor:
        return decode_cursor(SERDE, [v for t, _, v in self.committed if t == "cursors"][-1])


def _poller(
    visma: FakeVisma,
    producer: FakeProducer,
    cursor: Cursor,
    *,
    local_clock_ahead: timedelta = timedelta(0),
) -> EntityPoller:
    return EntityPoller(
        tenant_id="t", company_id="c", entity=VISMA_ENTITIES["supplierInvoice"],
        client=visma,  # type: ignore[arg-type]
        producer=producer, producer_lock=asyncio.Lock(), serde=SERDE,  # type: ignore[arg-type]
        audit=AuditTrail(service="test", serde=SERDE, publish=lambda k, v: None),
        topics=Topics("cursors", "audit", {"supplierInvoice": "events"}), cursor=cursor,
        overlap=timedelta(seconds=60), page_size=2,
        now=lambda: visma.now + local_clock_ahead,
    )  # fmt: skip


def _versions(events: list[str]) -> list[str]:
    return [e.rsplit("/", 1)[1] for e in events]


def test_each_change_once_across_overlapping_polls_and_equal_timestamps() -> None:
    visma, producer = FakeVisma(), FakeProducer()
    for n in range(5):
        visma.change(f"{n:04d}", T0 - timedelta(minutes=5 - n))
    poller = _poller(visma, producer, Cursor(since=datetime(2000, 1, 1, tzinfo=UTC)))
    asyncio.run(poller.poll_once())
    assert len(producer.events()) == 5
    # A change stamped exactly at the new cursor, and one inside the overlap: both once.
    visma.now = T0 + timedelta(seconds=30)
    visma.change("0005", poller.cursor.since)
    visma.change("0001", T0 + timedelta(seconds=10))
    asyncio.run(poller.poll_once())
    asyncio.run(poller.poll_once())  # nothing new: the overlap re-reads, publishes nothing
    versions = _versions(producer.events())
    assert len(versions) == len(set(versions)) == 7
    assert "Invoice:0005@" + str(int(T0.timestamp() * 1000) - 60_000) in versions


def test_a_change_landing_during_a_poll_is_caught_by_the_next() -> None:
    visma, producer = FakeVisma(), FakeProducer()
    for n in range(6):
        visma.change(f"{n:04d}", T0 - timedelta(minutes=10))

    def change_during(page: int) -> None:
        if page == 1:  # the first page is already read when invoice 0000 changes again
            visma.now = T0 + timedelta(seconds=5)
            visma.change("0000")

    visma.on_page = change_during
    poller = _poller(visma, producer, Cursor(since=datetime(2000, 1, 1, tzinfo=UTC)))
    asyncio.run(poller.poll_once())
    visma.on_page = None
    asyncio.run(poller.poll_once())
    versions = _versions(producer.events())
    assert len(versions) == len(set(versions)) == 7
    assert sum(v.startswith("Invoice:0000@") for v in versions) == 2


def test_a_crash_between_page_transactions_loses_and_repeats_nothing() -> None:
    visma, producer = FakeVisma(), FakeProducer(crash_at_commit=2)
    for n in range(6):
        visma.change(f"{n:04d}", T0 - timedelta(minutes=10))
    first = _poller(visma, producer, Cursor(since=datetime(2000, 1, 1, tzinfo=UTC)))
    with pytest.raises(Crash):
        asyncio.run(first.poll_once())
    assert len(producer.events()) == 2, "page 1 committed, page 2 lost with its cursor"
    # A restarted poller starts from the last committed cursor, as read from Kafka.
    restarted = _poller(visma, producer, producer.last_cursor())
    assert restarted.cursor.resume is not None
    assert restarted.cursor.resume.next_page == 2
    asyncio.run(restarted.poll_once())
    versions = _versions(producer.events())
    assert len(versions) == len(set(versions)) == 6
    assert restarted.cursor.resume is None


def test_amounts_stay_exact_decimals_on_the_event() -> None:
    visma, producer = FakeVisma(), FakeProducer()
    visma.change("0001", T0)
    asyncio.run(_poller(visma, producer, Cursor(since=T0 - timedelta(days=1))).poll_once())
    [(_, _, value)] = [r for r in producer.committed if r[0] == "events"]
    assert SERDE.decode(value)[1]["invoice"]["amount"] == Decimal("1000.5000")


def test_an_empty_poll_keeps_the_cursor_in_the_servers_time() -> None:
    # Our clock runs an hour ahead of Visma's: an empty poll must not move the cursor there.
    visma, producer = FakeVisma(), FakeProducer()
    poller = _poller(visma, producer, Cursor(since=T0 - timedelta(days=1)),
                     local_clock_ahead=timedelta(hours=1))  # fmt: skip
    asyncio.run(poller.poll_once())
    assert poller.cursor.since <= visma.now
    visma.now += timedelta(seconds=5)
    visma.change("0001")
    asyncio.run(poller.poll_once())
    assert len(producer.events()) == 1


def _polls(outcome: str) -> float:
    labels = {"company": "c", "entity": "supplierInvoice", "outcome": outcome}
    return REGISTRY.get_sample_value("mlc_visma_polls_total", labels) or 0.0


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        (None, "ok"),
        (VismaUnavailable("503"), "unavailable"),
        (VismaCredentialsRefused("invalid_client"), "refused"),
        (VismaAuthError("403 forbidden"), "failed"),
        (VismaRequestRejected("400 bad filter", status_code=400), "failed"),
    ],
)
def test_every_poll_outcome_is_counted(failure: Exception | None, outcome: str) -> None:
    visma, producer = FakeVisma(fail_with=failure), FakeProducer()
    before = _polls(outcome)
    poller = _poller(visma, producer, Cursor(since=T0 - timedelta(days=1)))
    if failure is None:
        asyncio.run(poller.poll_once())
    else:
        with pytest.raises(type(failure)):
            asyncio.run(poller.poll_once())
    assert _polls(outcome) - before == 1


def test_an_insert_on_page_one_during_paging_publishes_nothing_twice() -> None:
    # Newest first, as a list ordered by descending number is: an insert lands on page 1
    # and pushes the last record of page 1, already published, onto page 2.
    visma, producer = FakeVisma(), FakeProducer()
    for n in range(6):
        visma.change(f"{n:04d}", T0 - timedelta(hours=1))

    def insert_on_top(page: int) -> None:
        if page == 1:
            visma.rows = {"0100": visma.now, **visma.rows}

    visma.on_page = insert_on_top
    poller = _poller(visma, producer, Cursor(since=datetime(2000, 1, 1, tzinfo=UTC)))
    first = asyncio.run(poller.poll_once())
    visma.on_page = None
    assert first.moved
    asyncio.run(poller.poll_once())
    versions = _versions(producer.events())
    assert len(versions) == len(set(versions)) == 7


def test_a_deletion_behind_the_reader_loses_no_record() -> None:
    # Deleting a record of page 1 pulls the first record of page 2 back onto page 1, after
    # page 1 was read: this poll never sees it, and it is an hour older than the next `since`.
    visma, producer = FakeVisma(), FakeProducer()
    for n in range(6):
        visma.change(f"{n:04d}", T0 - timedelta(hours=1))

    def delete_behind(page: int) -> None:
        if page == 1:
            del visma.rows["0000"]

    visma.on_page = delete_behind
    poller = _poller(visma, producer, Cursor(since=datetime(2000, 1, 1, tzinfo=UTC)))
    first = asyncio.run(poller.poll_once())
    assert first.moved
    assert poller.cursor.since == datetime(2000, 1, 1, tzinfo=UTC), "the cursor kept its start"
    visma.on_page = None
    visma.now += timedelta(minutes=5)
    second = asyncio.run(poller.poll_once())
    assert not second.moved
    assert poller.cursor.since == visma.now - timedelta(seconds=60)
    versions = _versions(producer.events())
    assert len(versions) == len(set(versions)) == 6, "0000 (read before it went) and 0001-0005"
    assert any(v.startswith("Invoice:0002@") for v in versions)


def test_the_cursor_memory_is_bounded_to_the_newest_versions() -> None:
    start = Cursor(since=datetime(2000, 1, 1, tzinfo=UTC))
    poll = start.begin(T0)
    published = {
        version_of(f"Invoice:{n}", T0 - timedelta(seconds=n)): T0 - timedelta(seconds=n)
        for n in range(MAX_REMEMBERED + 10)
    }
    cursor = start.after_page(poll, published)
    assert len(cursor.seen) == MAX_REMEMBERED
    assert version_of("Invoice:0", T0) in cursor.seen
    oldest = MAX_REMEMBERED + 9
    assert version_of(f"Invoice:{oldest}", T0 - timedelta(seconds=oldest)) not in cursor.seen
