"""Bounded processed-markers without a broker: expired markers are tombstoned in the batch's
transaction and leave memory once it commits, revoked partitions leave memory, and a version
old enough that its marker may have expired is skipped (audited), never routed again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from tests.unit.processor.conftest import make_event

from chassis.audit import AuditTrail
from chassis.kafka.expiry import Expiry
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


def record(partition: int) -> Record:
    return Record(key=b"k", value=b"", headers={}, topic="in", partition=partition, offset=0)


def test_an_expired_marker_is_tombstoned_in_its_partition_and_leaves_on_commit() -> None:
    transaction, clock = Transaction(), Clock()
    book = markers(transaction, clock)
    book.remember(record(0), "old", millis(NOW - timedelta(days=30)))
    book.remember(record(1), "young", millis(NOW - timedelta(days=1)))
    book.committed()
    transaction.sent.clear()

    clock.now = NOW + timedelta(days=11)  # "old" is now 41 days old
    book.sweep()
    assert transaction.sent == [("old", None, 0)]
    assert "old" in book.versions  # not before the transaction commits
    book.committed()
    assert book.versions == {"young": millis(NOW - timedelta(days=1))}

    book.sweep()  # within the interval: nothing more
    assert len(transaction.sent) == 1


def test_a_tombstone_of_a_failed_batch_never_happened() -> None:
    transaction, clock = Transaction(), Clock()
    book = markers(transaction, clock)
    book.remember(record(0), "old", millis(NOW - timedelta(days=45)))
    book.committed()
    clock.now += timedelta(hours=2)
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


def test_a_version_that_may_have_lost_its_marker_is_skipped_not_routed(
    rules: RuleSet, serde: AvroSerde
) -> None:
    transaction, clock = Transaction(), Clock()
    book = markers(transaction, clock)
    commands: list[bytes] = []
    audits: list[bytes] = []

    async def send_command(command: object, value: bytes, headers: Headers) -> Awaitable[object]:
        commands.append(value)
        return asyncio.sleep(0)

    async def dead_letter(key: bytes, value: bytes, headers: Headers) -> Awaitable[object]:
        raise AssertionError("nothing here is poison")

    async def publish(key: str, value: bytes) -> None:
        audits.append(value)

    handler = InvoiceHandler(
        rules=rules, serde=serde, seen=book.versions, send_command=send_command,
        send_dead_letter=dead_letter, remember=book.remember,
        audit=AuditTrail(service="processor", serde=serde, publish=publish),
        beyond_horizon=book.beyond_horizon,
    )  # fmt: skip

    def handle(event: SupplierInvoiceChanged) -> Outcome:
        value = serde.encode(event.SCHEMA, event.to_record())
        rec = Record(key=b"k", value=value, headers={}, topic="in", partition=0, offset=0)
        return asyncio.run(handler.handle(rec))

    old = make_event(entity_id="Invoice:1", last_modified=NOW - timedelta(days=40))
    assert handle(old) is Outcome.BEYOND_HORIZON
    assert commands == []
    assert "processed-marker horizon" in serde.decode(audits[-1])[1]["detail"]
    within = make_event(entity_id="Invoice:2", last_modified=NOW - timedelta(days=38))
    assert handle(within) is Outcome.ROUTED
    assert commands


def test_the_marker_horizon_must_exceed_the_input_topics_retention() -> None:
    with pytest.raises(ValidationError, match="must exceed the retention"):
        ProcessorSettings(marker_horizon_days=20)
    assert ProcessorSettings().marker_expiry().horizon == timedelta(days=40)
