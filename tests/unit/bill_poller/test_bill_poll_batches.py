"""The BILL poller's delta polls: batches of events with their cursor, crashes between
batches, records changed while the poll reads, the overlap, and disabled subscriptions.

An in-memory BILL organization (records in creation order, as BILL lists them by default)
stands in for BILL; the Kafka transactions are recorded, and a crash is a transaction that
never commits. A restarted poller starts from the cursor the last commit carried, decoded
from its bytes as a restart would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from bill_poller.cycle import BillPoller
from bill_poller.poller import Entity, Organization, OrganizationPoller, cursor_key
from bill_poller.source import ChangedRecord
from chassis.delta_cursor import Cursor
from chassis.errors import PermanentError, RetryableError
from chassis.kafka.poll_cursors import decode_poll_cursor
from chassis.kafka.transactions import Outgoing
from chassis.serde import AvroSerde, SchemaCatalog

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
ORG = Organization(tenant_id="tenant-dk-1", organization_id="00801MLCDEMODK000001")
CURSORS = "state.poll-cursor.v1"
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
REENABLED = (
    "mlc_bill_subscriptions_disabled_total",
    {"organization": ORG.organization_id, "outcome": "reenabled"},
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Rec:
    id: str
    updated_time: datetime


@dataclass
class Sub:
    id: str
    enabled: bool


class Crash(Exception):
    """The process died before the transaction committed."""


@dataclass
class Bill:
    """One organization's BILL: lists in creation order filtered by updatedTime >= since."""

    clock: datetime = T0
    vendors_: dict[str, Rec] = field(default_factory=dict)
    bills_: dict[str, Rec] = field(default_factory=dict)
    subs: dict[str, Sub] = field(default_factory=dict)
    while_reading: Callable[[int], None] | None = None
    """Called after each record handed out (its position): changes made while paging."""
    enable_refused: bool = False
    subscriptions_error: Exception | None = None

    def change(self, entity: Entity, record_id: str) -> None:
        self.clock += timedelta(seconds=1)
        table = self.vendors_ if entity == "vendor" else self.bills_
        table[record_id] = Rec(record_id, self.clock)

    def now(self) -> datetime:
        return self.clock

    async def _list(self, table: dict[str, Rec], since: datetime) -> AsyncIterator[ChangedRecord]:
        position = 0
        for record_id in list(table):
            record = table[record_id]  # read when reached: a change made meanwhile shows
            if record.updated_time < since:
                continue
            yield record
            position += 1
            if self.while_reading is not None:
                self.while_reading(position)

    def vendors(self, *, updated_since: datetime) -> AsyncIterator[ChangedRecord]:
        return self._list(self.vendors_, updated_since)

    def bills(self, *, updated_since: datetime) -> AsyncIterator[ChangedRecord]:
        return self._list(self.bills_, updated_since)

    async def subscriptions(self) -> Sequence[Sub]:
        if self.subscriptions_error is not None:
            raise self.subscriptions_error
        return [replace(s) for s in self.subs.values()]

    async def enable_subscription(self, subscription_id: str) -> Sub:
        if self.enable_refused:
            raise PermanentError("BDC_1001: subscription cannot be enabled")
        self.subs[subscription_id].enabled = True
        return replace(self.subs[subscription_id])


@dataclass
class Kafka:
    committed: list[Outgoing] = field(default_factory=list)
    transactions: int = 0
    crash_at: int | None = None
    """The transaction (1-based) that never commits."""

    async def publish(self, records: Sequence[Outgoing]) -> None:
        self.transactions += 1
        if self.transactions == self.crash_at:
            raise Crash
        self.committed.extend(records)

    def events(self) -> list[str]:
        return [json.loads(v)["version"] for t, _, v in self.committed if t != CURSORS]

    def cursors(self) -> dict[str, Cursor]:
        last = {k: v for t, k, v in self.committed if t == CURSORS}
        return {k: decode_poll_cursor(SERDE, v) for k, v in last.items()}


class JsonEvents:
    def encode(
        self, entity: Entity, record: ChangedRecord, *, tenant_id: str, organization_id: str
    ) -> list[Outgoing]:
        version = f"{record.id}@{record.updated_time.isoformat()}"
        body = json.dumps({"version": version, "tenant": tenant_id})
        return [(f"bill.{entity}.v1", f"{organization_id}/{record.id}", body.encode())]


@dataclass
class Budget:
    spent: int = 0

    async def acquire(self) -> None:
        self.spent += 1


def poller(
    bill: Bill, kafka: Kafka, *, budget: Budget | None = None, skew: timedelta = timedelta(0)
) -> OrganizationPoller:
    return OrganizationPoller(
        organization=ORG, source=bill, transactions=kafka, encoder=JsonEvents(), serde=SERDE,
        cursor_topic=CURSORS, cursors=kafka.cursors(), budget=budget or Budget(),
        overlap=timedelta(minutes=5), page_size=3, now=lambda: bill.now() + skew,
    )  # fmt: skip


def seeded(vendors: int) -> Bill:
    bill = Bill()
    for n in range(vendors):
        bill.change("vendor", f"009v{n:02}")
    return bill


def versions(bill: Bill) -> list[str]:
    return [f"{r.id}@{r.updated_time.isoformat()}" for r in bill.vendors_.values()]


async def test_each_batch_is_one_transaction_with_its_cursor() -> None:
    bill, kafka = seeded(7), Kafka()
    assert await poller(bill, kafka).poll("vendor") == 7
    assert kafka.transactions == 3  # 3 + 3 + 1 records, the last with the finished cursor
    assert sorted(kafka.events()) == sorted(versions(bill))
    cursor = kafka.cursors()[cursor_key(ORG, "vendor")]
    assert cursor.resume is None
    assert cursor.since == T0 - timedelta(minutes=5) + timedelta(seconds=7)


@pytest.mark.parametrize("crash_at", [1, 2, 3])
async def test_a_crash_between_batches_repeats_and_loses_nothing(crash_at: int) -> None:
    bill, kafka = seeded(8), Kafka(crash_at=crash_at)
    with pytest.raises(Crash):
        await poller(bill, kafka).poll("vendor")
    bill.change("vendor", "009v01")  # changed while the poller was down
    kafka.crash_at = None
    await poller(bill, kafka).poll("vendor")  # the restart, from the committed cursor
    events = kafka.events()
    assert len(events) == len(set(events)), "a version published twice"
    assert set(versions(bill)) <= set(events), "a version lost"


async def test_records_changed_while_paging_are_all_published() -> None:
    bill, kafka = seeded(9), Kafka()

    def change_some(position: int) -> None:
        if position == 2:
            bill.change("vendor", "009v00")  # already read: caught by the next poll
            bill.change("vendor", "009v07")  # not read yet: read at its new version
        if position == 5:
            bill.change("vendor", "009v09")  # created meanwhile

    bill.while_reading = change_some
    first = poller(bill, kafka)
    await first.poll("vendor")
    bill.while_reading = None
    await first.poll("vendor")
    events = kafka.events()
    assert len(events) == len(set(events))
    assert set(versions(bill)) <= set(events)
    assert "009v07@" + (T0 + timedelta(seconds=8)).isoformat() not in events  # never read old


async def test_the_overlap_publishes_nothing_twice() -> None:
    bill, kafka = seeded(4), Kafka()
    polls = poller(bill, kafka)
    await polls.poll("vendor")
    bill.change("vendor", "009v02")
    await polls.poll("vendor")
    await polls.poll("vendor")
    assert len(kafka.events()) == 5
    assert len(set(kafka.events())) == 5


async def test_the_budget_is_spent_per_page_read() -> None:
    bill, kafka, budget = seeded(7), Kafka(), Budget()
    await poller(bill, kafka, budget=budget).poll("vendor")
    assert budget.spent == 3  # pages of 3: 3, 3, 1


async def test_a_disabled_subscription_is_reenabled_and_the_poll_goes_on() -> None:
    bill, kafka = seeded(2), Kafka()
    bill.subs = {"sub-1": Sub("sub-1", enabled=False), "sub-2": Sub("sub-2", enabled=True)}
    reported = REGISTRY.get_sample_value(*REENABLED) or 0.0
    result = await BillPoller([poller(bill, kafka)]).run_once()
    assert bill.subs["sub-1"].enabled
    assert REGISTRY.get_sample_value(*REENABLED) == reported + 1
    assert result.published == 2
    assert result.unavailable == ()


async def test_a_refused_reenable_never_stops_the_poll() -> None:
    bill, kafka = seeded(2), Kafka()
    bill.subs = {"sub-1": Sub("sub-1", enabled=False)}
    bill.enable_refused = True
    assert (await BillPoller([poller(bill, kafka)]).run_once()).published == 2
    assert not bill.subs["sub-1"].enabled


@pytest.mark.parametrize(
    "error",
    [RetryableError("BDC_1322: too many concurrent requests"), PermanentError("BDC_1004: 404")],
)
async def test_an_unanswered_subscription_check_never_stops_the_poll(error: Exception) -> None:
    bill, kafka = seeded(2), Kafka()
    bill.subscriptions_error = error
    result = await BillPoller([poller(bill, kafka)]).run_once()
    assert result.published == 2
    assert result.unavailable == ()


async def test_a_connector_clock_ahead_of_bills_loses_no_change() -> None:
    bill, kafka = seeded(4), Kafka()
    polls = poller(bill, kafka, skew=timedelta(hours=1))  # our clock an hour ahead of BILL's
    await polls.poll("vendor")
    bill.change("vendor", "009v01")  # BILL stamps it a second after the last poll's records
    await polls.poll("vendor")
    assert f"009v01@{bill.clock.isoformat()}" in kafka.events()
    since = kafka.cursors()[cursor_key(ORG, "vendor")].since
    assert since == bill.clock - timedelta(minutes=5)  # the newest change read, not our clock
