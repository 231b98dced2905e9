"""One pull of an Airbase tenant: every page read before anything is published, each payment
version published once with its memory in one transaction, unchanged entries cost no call,
changed ones are published again with a new version, and the token's allowance is kept.

An in-memory Airbase account stands in for Airbase (entries listed page by page, bills by id,
a remaining-calls count that every call spends); the Kafka transactions are recorded, and a
crash is a transaction that never commits. A restarted poller starts from the memory records
the commits carried, decoded from their bytes as a restart would.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airbase_poller.pull import PollerTopics, Tenant, TenantPuller
from chassis.audit import AuditTrail
from chassis.kafka.transactions import Outgoing
from chassis.serde import AvroSerde, SchemaCatalog
from events.airbase import AirbasePaymentReady
from events.airbase_polls import AirbasePolledEntry

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
TENANT = Tenant("tenant-se-1", "1234567")
TOPICS = PollerTopics(payments="airbase.payment.v1", memory="state.airbase-poller.v1",
                      audit="audit.v1")  # fmt: skip
NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def payment(entry_id: int, *, bill_id: int | None = None, amount: str = "100.00") -> dict[str, Any]:
    """A bill payment entry in the contract's shape (the fields the fact reads)."""
    bill = bill_id if bill_id is not None else 500 + entry_id
    return {
        "id": entry_id,
        "airbase_id": entry_id,
        "type": "bill_payment",
        "status": "sync_ready",
        "vendor": {"airbase_id": 7, "name": "Kontorsvaror AB", "erp_reference_id": "70012"},
        "applied_to": [{"id": bill, "airbase_id": bill, "transaction_type": "bill"}],
        "payment_entry_date": "2026-03-02",
        "currency": {"iso_code": "SEK"},
        "total_amount": amount,
        "expense_list": [
            {
                "line_number": 1,
                "account": {"erp_reference_id": "4010"},
                "amount": amount,
                "tags": [{"type": "department", "erp_reference_id": "CC-200"}],
                "description": "Paper",
            }
        ],
    }


@dataclass
class Airbase:
    """One tenant's Airbase: `sync_ready` entries in list order, pages of `page_size`."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    bills: dict[str, dict[str, Any]] = field(default_factory=dict)
    page_size: int = 3
    remaining: int | None = 500
    pages_read: int = 0
    bill_reads: list[str] = field(default_factory=list)
    done_reading: bool = False
    calls: int = 0

    def add(self, entry: dict[str, Any], *, bill_ref: str | None = "auto") -> None:
        self.entries.append(entry)
        bill_id = str(entry["applied_to"][0]["airbase_id"])
        ref = f"Invoice:{bill_id}" if bill_ref == "auto" else bill_ref
        self.bills.setdefault(bill_id, {"airbase_id": bill_id, "erp_reference_id": ref})

    def _spend(self) -> None:
        self.calls += 1
        if self.remaining is not None:
            self.remaining -= 1

    async def sync_ready_entries(self) -> AsyncIterator[dict[str, Any]]:
        self.done_reading = False
        page = 1
        while True:
            self._spend()
            self.pages_read += 1
            start = (page - 1) * self.page_size
            rows = [copy.deepcopy(e) for e in self.entries[start : start + self.page_size]]
            if not rows:  # Airbase answers a page past the end with an empty list
                self.done_reading = True
                return
            for row in rows:
                yield row
            page += 1

    async def bill(self, airbase_id: str) -> dict[str, Any]:
        self._spend()
        self.bill_reads.append(airbase_id)
        return copy.deepcopy(self.bills[airbase_id])

    def remaining_calls(self) -> int | None:
        return self.remaining

    def calls_made(self) -> int:
        return self.calls


class Crash(Exception):
    """The process died before the transaction committed."""


@dataclass
class Kafka:
    """The committed transactions; `crash_next` makes the next one never commit."""

    airbase: Airbase
    committed: list[list[Outgoing]] = field(default_factory=list)
    crash_next: bool = False
    read_all_before_each: list[bool] = field(default_factory=list)

    async def publish(self, records: list[Outgoing]) -> None:
        self.read_all_before_each.append(self.airbase.done_reading)
        if self.crash_next:
            self.crash_next = False
            raise Crash
        self.committed.append(list(records))

    def facts(self) -> list[AirbasePaymentReady]:
        return [
            AirbasePaymentReady.from_record(SERDE.decode(value)[1])
            for batch in self.committed
            for topic, _, value in batch
            if topic == TOPICS.payments and value is not None
        ]

    def memory(self) -> dict[str, AirbasePolledEntry]:
        """What a restarted poller reads back from the compacted memory topic."""
        newest: dict[str, AirbasePolledEntry] = {}
        for batch in self.committed:
            for topic, key, value in batch:
                if topic == TOPICS.memory and value is None:  # a tombstone: forgotten
                    newest.pop(key, None)
                elif topic == TOPICS.memory:
                    newest[key] = AirbasePolledEntry.from_record(SERDE.decode(value)[1])
        return newest


def puller(
    airbase: Airbase,
    kafka: Kafka,
    memory: dict[str, AirbasePolledEntry] | None = None,
    **kw: Any,
) -> TenantPuller:
    options: dict[str, Any] = {"clock": lambda: NOW} | kw
    return TenantPuller(
        tenant=TENANT, source=airbase, transactions=kafka, serde=SERDE,
        audit=AuditTrail(service="airbase-poller", serde=SERDE, publish=lambda k, v: None),
        topics=TOPICS, memory={} if memory is None else memory, **options,
    )  # fmt: skip


async def test_each_payment_is_published_once_with_its_bill_reference_and_its_memory() -> None:
    airbase = Airbase()
    for n in range(1, 8):
        airbase.add(payment(n))
    airbase.entries.insert(2, {**payment(99), "type": "expense"})  # not a payment
    kafka = Kafka(airbase)
    result = await puller(airbase, kafka, batch_size=4).pull("poll")
    assert (result.listed, result.published) == (8, 7)
    facts = kafka.facts()
    assert sorted(int(f.entry_id) for f in facts) == list(range(1, 8))
    assert {f.bill_ref for f in facts} == {f"Invoice:{500 + n}" for n in range(1, 8)}
    assert {f.via for f in facts} == {"poll"}
    # Two transactions (4 + 3), each fact with its audit event and its memory record.
    assert [len(batch) for batch in kafka.committed] == [12, 9]
    for batch in kafka.committed:
        facts_in = {k for t, k, _ in batch if t == TOPICS.payments}
        assert facts_in == {k for t, k, _ in batch if t == TOPICS.memory}
        assert facts_in == {k for t, k, _ in batch if t == TOPICS.audit}
    assert kafka.memory()[facts[0].key].version == facts[0].version


async def test_every_page_is_read_before_anything_is_published() -> None:
    airbase = Airbase(page_size=2)
    for n in range(1, 10):
        airbase.add(payment(n))
    kafka = Kafka(airbase)
    result = await puller(airbase, kafka, batch_size=1).pull("poll")
    assert result.listing_calls == 6  # what a pull with nothing new would cost
    assert len(kafka.committed) == 9
    assert kafka.read_all_before_each == [True] * 9
    assert airbase.pages_read == 6  # 5 pages with entries and the empty one past the end


async def test_an_unchanged_entry_costs_no_call_and_publishes_nothing_even_after_a_restart() -> (
    None
):
    airbase = Airbase()
    for n in range(1, 6):
        airbase.add(payment(n))
    kafka = Kafka(airbase)
    await puller(airbase, kafka).pull("poll")
    assert len(airbase.bill_reads) == 5
    again = await puller(airbase, kafka, kafka.memory()).pull("webhook")
    assert (again.listed, again.published) == (5, 0)
    assert len(airbase.bill_reads) == 5
    assert len(kafka.committed) == 1


async def test_a_changed_entry_is_published_again_with_a_new_version() -> None:
    airbase = Airbase()
    airbase.add(payment(1))
    airbase.add(payment(2))
    kafka = Kafka(airbase)
    await puller(airbase, kafka).pull("poll")
    airbase.entries[0] = payment(1, amount="120.00")
    result = await puller(airbase, kafka, kafka.memory()).pull("webhook")
    assert result.published == 1
    first, second, changed = kafka.facts()
    assert changed.entry_id == first.entry_id == "1"
    assert changed.version != first.version
    assert changed.amount == 120
    assert changed.via == "webhook"
    # Changed only where the fact does not look (a field it does not read): no new version.
    airbase.entries[1] = {**payment(2), "notes": "seen by the approver"}
    assert (await puller(airbase, kafka, kafka.memory()).pull("poll")).published == 0
    assert kafka.memory()["tenant-se-1/2"].version == second.version


async def test_a_bill_without_its_visma_reference_is_read_again_until_it_has_one() -> None:
    airbase = Airbase()
    airbase.add(payment(1), bill_ref=None)
    kafka = Kafka(airbase)
    memory: dict[str, AirbasePolledEntry] = {}
    await puller(airbase, kafka, memory).pull("poll")
    await puller(airbase, kafka, memory).pull("poll")
    assert airbase.bill_reads == ["501", "501"]
    assert len(kafka.facts()) == 1
    airbase.bills["501"]["erp_reference_id"] = "Invoice:000501"
    await puller(airbase, kafka, memory).pull("poll")
    without, with_ref = kafka.facts()
    assert (without.bill_ref, with_ref.bill_ref) == (None, "Invoice:000501")
    assert with_ref.version != without.version
    await puller(airbase, kafka, memory).pull("poll")
    assert len(airbase.bill_reads) == 3


async def test_a_crash_before_the_commit_publishes_the_same_version_once_on_the_next_pull() -> None:
    airbase = Airbase()
    for n in range(1, 5):
        airbase.add(payment(n))
    kafka = Kafka(airbase)
    memory: dict[str, AirbasePolledEntry] = {}
    await puller(airbase, kafka, memory, batch_size=2).pull("poll")
    lost_ids = {f.event_id for f in kafka.facts()}
    kafka.committed.clear()  # a restart with nothing committed: the first pull never was
    kafka.crash_next = True
    with pytest.raises(Crash):
        await puller(airbase, kafka, kafka.memory(), batch_size=2).pull("poll")
    await puller(airbase, kafka, kafka.memory(), batch_size=2).pull("poll")
    await puller(airbase, kafka, kafka.memory(), batch_size=2).pull("poll")
    facts = kafka.facts()
    assert sorted(f.event_id for f in facts) == sorted(lost_ids)  # the same ids, each once


async def test_the_pull_leaves_the_reserve_of_the_hourly_allowance_to_the_sink() -> None:
    airbase = Airbase(page_size=2, remaining=12)
    for n in range(1, 7):
        airbase.add(payment(n))
    kafka = Kafka(airbase)
    memory: dict[str, AirbasePolledEntry] = {}
    first = await puller(airbase, kafka, memory, reserve_calls=5).pull("poll")
    # 4 pages (12 -> 8), then bills until 5 remain: 3 payments published, 3 left waiting.
    assert first.budget_stopped
    assert first.published == 3
    assert airbase.remaining == 5
    # At the reserve, a pull reads the first page only (to learn whether the hour turned).
    nothing = await puller(airbase, kafka, memory, reserve_calls=5).pull("poll")
    assert (nothing.budget_stopped, nothing.published, airbase.remaining) == (True, 0, 4)
    airbase.remaining = 500  # the hour turned
    rest = await puller(airbase, kafka, memory, reserve_calls=5).pull("poll")
    assert (rest.published, rest.budget_stopped) == (3, False)
    assert sorted(int(f.entry_id) for f in kafka.facts()) == [1, 2, 3, 4, 5, 6]


async def test_a_page_shift_that_lists_an_entry_twice_publishes_it_once() -> None:
    airbase = Airbase(page_size=2)
    for n in range(1, 5):
        airbase.add(payment(n))

    original = airbase.sync_ready_entries

    async def shifting() -> AsyncIterator[dict[str, Any]]:
        async for entry in original():
            yield entry
            if entry["airbase_id"] == 2:  # a new entry lands at the top: page 2 repeats #2
                airbase.entries.insert(0, payment(9))

    airbase.sync_ready_entries = shifting  # type: ignore[method-assign]
    kafka = Kafka(airbase)
    await puller(airbase, kafka).pull("poll")
    ids = [f.entry_id for f in kafka.facts()]
    assert sorted(ids) == sorted(set(ids))
    assert "2" in ids


async def test_an_entry_the_fact_cannot_hold_is_skipped_and_the_others_published() -> None:
    airbase = Airbase()
    airbase.add(payment(1))
    airbase.add({**payment(2), "total_amount": "twelve"})
    airbase.add(payment(3))
    kafka = Kafka(airbase)
    result = await puller(airbase, kafka).pull("poll")
    assert result.published == 2
    assert sorted(f.entry_id for f in kafka.facts()) == ["1", "3"]
    assert "tenant-se-1/2" not in kafka.memory()


async def test_an_entry_unlisted_for_forget_after_is_forgotten_and_a_shifted_one_is_not() -> None:
    airbase = Airbase()
    for n in range(1, 4):
        airbase.add(payment(n))
    kafka = Kafka(airbase)
    now = [NOW]
    memory: dict[str, AirbasePolledEntry] = {}
    p = puller(airbase, kafka, memory, clock=lambda: now[0], forget_after=timedelta(days=30))
    await p.pull("poll")
    synced, shifted = airbase.entries.pop(0), airbase.entries.pop(0)  # #1 synced, #2 skipped
    await p.pull("poll")
    airbase.entries.insert(0, shifted)  # the next pull lists #2 again
    now[0] = NOW + timedelta(days=29, hours=23)
    await p.pull("poll")
    assert set(kafka.memory()) == {"tenant-se-1/1", "tenant-se-1/2", "tenant-se-1/3"}
    now[0] = NOW + timedelta(days=30)
    await p.pull("poll")
    assert set(memory) == set(kafka.memory()) == {"tenant-se-1/2", "tenant-se-1/3"}
    assert synced["airbase_id"] == 1
    # A forgotten entry that comes back unchanged is published again under the same event id.
    airbase.entries.append(synced)
    await p.pull("poll")
    ids = [f.event_id for f in kafka.facts() if f.entry_id == "1"]
    assert len(ids) == 2
    assert len(set(ids)) == 1


async def test_a_pull_cut_short_by_the_budget_forgets_nothing() -> None:
    airbase = Airbase(page_size=1)
    for n in range(1, 4):
        airbase.add(payment(n))
    kafka = Kafka(airbase)
    memory: dict[str, AirbasePolledEntry] = {}
    now = [NOW]
    p = puller(airbase, kafka, memory, clock=lambda: now[0], forget_after=timedelta(days=1),
               reserve_calls=5)  # fmt: skip
    await p.pull("poll")
    airbase.remaining = 6  # the list stops after the first page: entries 2 and 3 unseen
    now[0] = NOW + timedelta(days=2)
    assert (await p.pull("poll")).budget_stopped
    now[0] = NOW + timedelta(days=4)
    assert (await p.pull("poll")).budget_stopped
    assert set(memory) == {"tenant-se-1/1", "tenant-se-1/2", "tenant-se-1/3"}
