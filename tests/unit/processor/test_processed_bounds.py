"""Bounded processed-markers without a broker: markers expire by when they were written (not
by the entity's last-modified time), are tombstoned in the batch's transaction and leave
memory once it commits, revoked partitions leave memory; an event written so long ago that
its marker may have expired is skipped (audited), while an old version published now (a
backfill) is routed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from tests.unit.processor.conftest import make_event

from chassis.audit import AuditTrail
from chassis.kafka.expiry import Expiry
from chassis.kafka.state import StateRecord
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from events import SupplierInvoiceChanged
from processor.config import ProcessorSettings
from processor.handler import Headers, InvoiceHandler, Outcome, Record
from processor.processed import ProcessedMarkers
from processor.rules import RuleSet

pytestmark = pytest.mark.unit

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class Transaction:
    """What the markers need of a BatchTransaction: sends, in memory (key, value, partition)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, int | None]] = []

    def send(
        self, topic: str, *, key: str, value: bytes | None, partition: int | None = None
    ) -> None:
        self.sent.append((key, value, partition))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def markers(transaction: Transaction, clock: Clock) -> ProcessedMarkers:
    return ProcessedMarkers(
        KafkaSettings(), "processed", transaction, client="t",  # type: ignore[arg-type]
        expiry=Expiry(timedelta(days=40)), sweep_every=timedelta(hours=1), clock=clock,
    )  # fmt: skip


def record(partition: int, *, written: datetime = NOW) -> Record:
    return Record(
        key=b"k", value=b"", headers={}, topic="in", partition=partition, offset=0,
        timestamp_ms=millis(written),
    )  # fmt: skip


def test_markers_expire_by_when_they_were_written_not_by_the_version() -> None:
    transaction, clock = Transaction(), Clock()
    book = markers(transaction, clock)
    ancient = millis(NOW - timedelta(days=400))
    book.remember(record(0), "backfilled", ancient)  # an old version, processed now
    book.committed()
    clock.now = NOW + timedelta(days=2)
    book.remember(record(1), "young", millis(NOW))
    book.committed()
    transaction.sent.clear()

    clock.now = NOW + timedelta(days=39)
    book.sweep()
    assert transaction.sent == []  # written 39 days ago: kept, whatever its version
    assert book.versions["backfilled"] == ancient

    clock.now = NOW + timedelta(days=41)  # "backfilled" written 41 days ago, "young" 39
    book.sweep()
    assert transaction.sent == [("backfilled", None, 0)]
    assert "backfilled" in book.versions  # not before the transaction commits
    book.committed()
    assert book.versions == {"young": millis(NOW)}

    book.sweep()  # within the interval: nothing more
    assert len(transaction.sent) == 1


def test_loaded_markers_expire_by_their_kafka_timestamp(monkeypatch: pytest.MonkeyPatch) -> None:
    transaction, clock = Transaction(), Clock()
    book = markers(transaction, clock)
    recent_version = str(millis(NOW - timedelta(days=1))).encode()
    old_version = str(millis(NOW - timedelta(days=400))).encode()
    found = {
        # A recent version whose marker was written 41 days ago: expired.
        "stale": StateRecord("stale", recent_version, 0, millis(NOW - timedelta(days=41))),
        # A version modified 400 days ago whose marker was written yesterday: kept.
        "backfilled": StateRecord("backfilled", old_version, 0, millis(NOW - timedelta(days=1))),
    }
    monkeypatch.setattr("processor.processed.read_newest", lambda *args, **kwargs: found)
    asyncio.run(book.load([0]))
    assert transaction.sent == [("stale", None, 0)]
    book.committed()
    assert book.versions == {"backfilled": int(old_version)}
    assert book.written == {"backfilled": millis(NOW - timedelta(days=1))}


def test_a_tombstone_of_a_failed_batch_never_happened() -> None:
    transaction, clock = Transaction(), Clock()
    book = markers(transaction, clock)
    book.remember(record(0), "old", millis(NOW))
    book.committed()
    clock.now += timedelta(days=41)
    book.sweep()
    book.discard()
    assert "old" in book.versions


def test_a_revoke_drops_the_markers_of_the_revoked_partitions() -> None:
    transaction, clock = Transaction(), Clock()
    book = markers(transaction, clock)
    for partition in range(3):
        book.remember(record(partition), f"e{partition}", millis(NOW))
    book.committed()
    book.forget([0, 2])
    assert book.versions == {"e1": millis(NOW)}
    assert set(book.written) == {"e1"}


class Worker:
    """The handler wired to the markers as in the processor, with commands and audits kept."""

    def __init__(self, rules: RuleSet, serde: AvroSerde) -> None:
        self.transaction, self.clock = Transaction(), Clock()
        self.book = markers(self.transaction, self.clock)
        self.serde = serde
        self.commands: list[bytes] = []
        self.audits: list[bytes] = []

        async def send_command(
            command: object, value: bytes, headers: Headers
        ) -> Awaitable[object]:
            self.commands.append(value)
            return asyncio.sleep(0)

        async def dead_letter(key: bytes, value: bytes, headers: Headers) -> Awaitable[object]:
            raise AssertionError("nothing here is poison")

        async def publish(key: str, value: bytes) -> None:
            self.audits.append(value)

        self.handler = InvoiceHandler(
            rules=rules, serde=serde, seen=self.book.versions, send_command=send_command,
            send_dead_letter=dead_letter, remember=self.book.remember,
            audit=AuditTrail(service="processor", serde=serde, publish=publish),
            beyond_horizon=self.book.beyond_horizon, outlive=self.book.outlive,
        )  # fmt: skip

    def handle(self, event: SupplierInvoiceChanged, *, written: datetime) -> Outcome:
        value = self.serde.encode(event.SCHEMA, event.to_record())
        rec = Record(
            key=b"k", value=value, headers={}, topic="in", partition=0, offset=0,
            timestamp_ms=millis(written),
        )  # fmt: skip
        outcome = asyncio.run(self.handler.handle(rec))
        self.book.committed()
        return outcome


def test_an_old_version_published_now_is_routed_not_skipped(
    rules: RuleSet, serde: AvroSerde
) -> None:
    worker = Worker(rules, serde)
    backfilled = make_event(entity_id="Invoice:1", last_modified=NOW - timedelta(days=400))
    assert worker.handle(backfilled, written=NOW) is Outcome.ROUTED
    assert worker.commands
    assert worker.book.versions == {backfilled.key: millis(NOW - timedelta(days=400))}
    sent = len(worker.commands)
    # Read again (a replay): its marker, written now, makes it a duplicate.
    assert worker.handle(backfilled, written=NOW) is Outcome.DUPLICATE
    assert len(worker.commands) == sent


def test_an_event_written_beyond_the_horizon_without_a_marker_is_skipped_and_audited(
    rules: RuleSet, serde: AvroSerde
) -> None:
    worker = Worker(rules, serde)
    recent = make_event(entity_id="Invoice:1", last_modified=NOW - timedelta(hours=1))
    assert worker.handle(recent, written=NOW - timedelta(days=40)) is Outcome.BEYOND_HORIZON
    assert worker.commands == []
    assert "processed-marker horizon" in serde.decode(worker.audits[-1])[1]["detail"]
    within = make_event(entity_id="Invoice:2", last_modified=NOW - timedelta(days=300))
    assert worker.handle(within, written=NOW - timedelta(days=38)) is Outcome.ROUTED
    assert worker.commands


def test_a_duplicate_published_after_its_marker_keeps_the_marker_alive(
    rules: RuleSet, serde: AvroSerde
) -> None:
    """A marker must outlive every event of its version: a re-published duplicate (a backfill
    run again) rewrites it, else replaying that duplicate after the marker expired would
    route it again."""
    worker = Worker(rules, serde)
    event = make_event(entity_id="Invoice:1", last_modified=NOW - timedelta(days=400))
    assert worker.handle(event, written=NOW) is Outcome.ROUTED
    worker.transaction.sent.clear()
    worker.clock.now = NOW + timedelta(minutes=30)
    # The poller's overlap: a duplicate within the clock margin writes nothing.
    assert worker.handle(event, written=worker.clock.now) is Outcome.DUPLICATE
    assert worker.transaction.sent == []

    worker.clock.now = NOW + timedelta(days=20)
    assert worker.handle(event, written=worker.clock.now) is Outcome.DUPLICATE
    assert [(key, value) for key, value, _ in worker.transaction.sent] == [
        (event.key, str(millis(NOW - timedelta(days=400))).encode())
    ]
    worker.clock.now = NOW + timedelta(days=45)  # the first marker write is 45 days old
    worker.book.sweep()
    worker.book.committed()
    assert event.key in worker.book.versions  # rewritten 25 days ago: kept
    sent = len(worker.commands)
    assert worker.handle(event, written=NOW + timedelta(days=20)) is Outcome.DUPLICATE
    assert len(worker.commands) == sent

    # A newer version writes its own marker, not a rewrite of the old one as well.
    worker.transaction.sent.clear()
    newer = make_event(entity_id="Invoice:1", last_modified=NOW + timedelta(days=44))
    assert worker.handle(newer, written=worker.clock.now) is Outcome.ROUTED
    assert [key for key, value, _ in worker.transaction.sent if key == event.key] == [event.key]


def test_the_marker_horizon_must_exceed_the_input_topics_retention() -> None:
    with pytest.raises(ValidationError, match="must exceed the retention"):
        ProcessorSettings(marker_horizon_days=20)
    assert ProcessorSettings().marker_expiry().horizon == timedelta(days=40)
