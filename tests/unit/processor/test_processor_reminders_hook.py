"""The handler's hook for scheduled work: each new version once, sent before the table moves."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import pytest

from chassis.audit import AuditTrail
from chassis.serde import AvroSerde
from events import SupplierInvoiceChanged, VismaEntityChanged
from processor.handler import InvoiceHandler, Record
from processor.rules import RuleSet

pytestmark = pytest.mark.unit
MakeEvent = Callable[..., SupplierInvoiceChanged]


class Ack:
    """A delivery that says when it was awaited."""

    def __init__(self, log: list[str], name: str) -> None:
        self._log, self._name = log, name

    def __await__(self) -> Any:
        self._log.append(f"acked {self._name}")
        yield from ()


def test_observe_sees_each_new_version_once_and_its_sends_complete_before_remember(
    rules: RuleSet, serde: AvroSerde, make: MakeEvent
) -> None:
    log: list[str] = []
    seen: dict[str, int] = {}

    async def observe(record: Record, event: VismaEntityChanged, enrichment: Mapping[str, str],
                      now: RuleSet) -> list[Awaitable[object]]:  # fmt: skip
        log.append(f"observe {event.event_id} p{record.partition}")
        assert now is rules
        return [Ack(log, event.event_id)]

    async def send(*_: object) -> Awaitable[object]:
        return Ack(log, "command")

    async def publish(key: str, value: bytes) -> object:
        return None

    def remember(record: Record, key: str, version: int) -> None:
        log.append("remember")
        seen[key] = version

    handler = InvoiceHandler(
        rules=rules, serde=serde, seen=seen, send_command=send, send_dead_letter=send,
        audit=AuditTrail(service="processor", serde=serde, publish=publish),
        remember=remember, observe=observe,
    )  # fmt: skip
    first = make()
    newer = make(last_modified=first.last_modified + timedelta(minutes=1))
    records = [
        Record(key=b"k", value=serde.encode(e.SCHEMA, e.to_record()), headers={}, topic="in",
               partition=5, offset=n)
        for n, e in enumerate([first, first, newer])
    ]  # fmt: skip
    asyncio.run(handler.handle_batch(records))
    observed = [line for line in log if line.startswith("observe")]
    assert observed == [f"observe {first.event_id} p5", f"observe {newer.event_id} p5"]
    assert log.index("remember") > log.index(f"acked {newer.event_id}")
    assert log.index("remember") > log.index(f"acked {first.event_id}")
