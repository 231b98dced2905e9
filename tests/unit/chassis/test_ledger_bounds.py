"""Bounded ledgers without a broker: which entries expire, which commands are refused, where
entries are written, and what a revoke forgets.

The rule under test (`chassis.kafka.expiry`): an entry may be forgotten only when its command
can no longer be acted on, so no command within the horizon ever loses its entry.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime, timedelta

import pytest

from chassis.kafka.expiry import CommandBeyondHorizonError, Expiry, HorizonConfigError
from chassis.kafka.handling import handling
from chassis.kafka.ledger import CommandLedger, LedgerPartitionError, check_aligned
from chassis.kafka.producer import Delivery
from chassis.kafka.record import Record
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.topics import DAY_MS, TopicSpec
from events.deliveries import DeliveryStatus, SinkDelivery

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HORIZON = Expiry(timedelta(days=40))


class Producer:
    """What the ledger needs of an EventProducer, in memory: (key, partition, tombstone?)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, bool]] = []

    def send(self, topic: str, *, key: str, value: bytes | None, partition: int) -> Delivery:
        self.sent.append((key, partition, value is None))
        delivered: Delivery = Future()
        delivered.set_result(None)
        return delivered


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def entry(command_id: str, at: datetime) -> SinkDelivery:
    return SinkDelivery(
        command_id=command_id, sink="slack-sink", status=DeliveryStatus.DONE,
        destination="acme/ap", at=at, ts="1700000000.000100",
    )  # fmt: skip


def record(partition: int, written: datetime) -> Record:
    return Record(
        topic="sink.slack.v1", partition=partition, offset=0, key="acme/ap", raw=b"",
        headers=[], timestamp_ms=int(written.timestamp() * 1000),
    )  # fmt: skip


def ledger(clock: Clock, producer: Producer) -> CommandLedger[SinkDelivery]:
    return CommandLedger(
        SinkDelivery, topic="state.slack-ledger.v2", producer=producer, serde=SERDE,  # type: ignore[arg-type]
        client="t", expiry=HORIZON, sweep_every=timedelta(hours=1), clock=clock,
    )  # fmt: skip


# ---- the expiry decisions ------------------------------------------------------------------


def test_an_entry_expires_only_after_the_horizon() -> None:
    assert not HORIZON.expired(NOW - timedelta(days=39, hours=23), NOW)
    assert not HORIZON.expired(NOW - timedelta(days=40), NOW)
    assert HORIZON.expired(NOW - timedelta(days=40, seconds=1), NOW)


def test_a_command_is_too_old_before_its_entry_can_have_expired() -> None:
    """The margin covers clocks: a command written a little before its entry still finds it."""
    stamp = int((NOW - timedelta(days=39, hours=22)).timestamp() * 1000)
    assert not HORIZON.too_old(stamp, NOW)
    stamp = int((NOW - timedelta(days=39, hours=23, minutes=1)).timestamp() * 1000)
    assert HORIZON.too_old(stamp, NOW)


def test_the_horizon_must_exceed_the_command_topics_retention() -> None:
    commands = TopicSpec("sink.slack.v1", 6, retention_ms=30 * DAY_MS)
    HORIZON.check_covers(commands)
    with pytest.raises(HorizonConfigError, match=r"retention of sink\.slack\.v1"):
        Expiry(timedelta(days=30)).check_covers(commands)
    with pytest.raises(HorizonConfigError, match="compacted"):
        HORIZON.check_covers(TopicSpec("sink.x.v1", 6, compacted=True))
    with pytest.raises(HorizonConfigError, match="clock margin"):
        Expiry(timedelta(minutes=30))


def test_ledger_and_command_partitions_must_line_up() -> None:
    check_aligned(TopicSpec("state.l.v2", 6, compacted=True), TopicSpec("sink.s.v1", 6))
    with pytest.raises(LedgerPartitionError, match="must be equal"):
        check_aligned(TopicSpec("state.l.v1", 3, compacted=True), TopicSpec("sink.s.v1", 6))


# ---- the ledger ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_entry_goes_to_the_partition_of_the_command_being_handled() -> None:
    producer = Producer()
    book = ledger(Clock(), producer)
    with handling([record(4, NOW)]):
        await book.write(entry("cmd-1", NOW))
    assert producer.sent == [("cmd-1", 4, False)]
    with pytest.raises(LedgerPartitionError, match="no partition"):
        await book.write(entry("cmd-2", NOW))


@pytest.mark.anyio
async def test_expired_entries_get_tombstones_in_their_own_partition_and_leave_memory() -> None:
    clock, producer = Clock(), Producer()
    book = ledger(clock, producer)
    with handling([record(1, NOW)]):
        await book.write(entry("old", NOW))
    with handling([record(2, NOW)]):
        await book.write(entry("young", NOW + timedelta(days=5)))
    producer.sent.clear()

    clock.now = NOW + timedelta(days=41)  # past "old"'s horizon, within "young"'s
    with handling([record(3, clock.now)]):
        await book.write(entry("new", clock.now))

    assert producer.sent == [("new", 3, False), ("old", 1, True)]
    assert book.get("young") is not None
    assert book.get("old") is None
    assert len(book) == 2


@pytest.mark.anyio
async def test_a_sweep_runs_at_most_once_per_interval() -> None:
    clock, producer = Clock(), Producer()
    book = ledger(clock, producer)
    clock.now = NOW + timedelta(hours=2)
    with handling([record(0, NOW)]):
        await book.write(entry("a", NOW - timedelta(days=41)))  # written expired: next sweep
        assert producer.sent == [("a", 0, False)]
        clock.now += timedelta(minutes=30)
        await book.write(entry("b", clock.now))
        assert ("a", 0, True) not in producer.sent
        clock.now += timedelta(hours=1)
        await book.write(entry("c", clock.now))
    assert ("a", 0, True) in producer.sent


@pytest.mark.anyio
async def test_a_command_older_than_the_horizon_is_refused_unless_its_entry_is_known() -> None:
    clock, producer = Clock(), Producer()
    book = ledger(clock, producer)
    old_command = record(0, NOW - timedelta(days=45))
    with handling([record(0, NOW)]):
        await book.write(entry("kept", NOW))
    with handling([old_command]):
        assert book.get("kept") is not None  # known: its DONE still protects it
        with pytest.raises(CommandBeyondHorizonError, match="redrive it to force it"):
            book.get("forgotten")
    with handling([record(0, NOW - timedelta(days=39))]):
        assert book.get("never-seen") is None  # within the horizon: simply new


@pytest.mark.anyio
async def test_a_revoke_forgets_only_the_revoked_partitions() -> None:
    producer = Producer()
    book = ledger(Clock(), producer)
    for partition in range(3):
        with handling([record(partition, NOW)]):
            await book.write(entry(f"cmd-{partition}", NOW))
    book.forget([0, 2])
    assert [e.command_id for e in book.entries()] == ["cmd-1"]


@pytest.mark.anyio
async def test_a_large_expiry_goes_out_in_slices_that_fit_the_producers_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("chassis.kafka.ledger.TOMBSTONES_AT_ONCE", 2)
    clock, producer = Clock(), Producer()
    book = ledger(clock, producer)
    with handling([record(0, NOW)]):
        for n in range(5):
            await book.write(entry(f"old-{n}", NOW - timedelta(days=41)))
        producer.sent.clear()
        clock.now += timedelta(hours=2)
        await book.write(entry("new-1", clock.now))
        assert sum(tombstone for _, _, tombstone in producer.sent) == 2
        await book.write(entry("new-2", clock.now))  # the rest is still due: no wait
        await book.write(entry("new-3", clock.now))
    assert sum(tombstone for _, _, tombstone in producer.sent) == 5
    assert sorted(e.command_id for e in book.entries()) == ["new-1", "new-2", "new-3"]
