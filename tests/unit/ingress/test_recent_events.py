"""RecentEvents: one write per event id while remembered, and a memory that stays bounded."""

from __future__ import annotations

import asyncio

import pytest

from chassis.kafka.producer import ProduceError
from ingress.dedupe import Outcome, RecentEvents

pytestmark = pytest.mark.unit


class Writes:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def of(self, event_id: str):  # type: ignore[no-untyped-def]
        async def write() -> None:
            self.ids.append(event_id)

        return write


def test_the_memory_forgets_the_oldest_ids_beyond_its_capacity() -> None:
    recent, writes = RecentEvents(capacity=2), Writes()

    async def run() -> list[Outcome]:
        outcomes = [await recent.store_once(i, writes.of(i)) for i in ("a", "b", "c")]
        outcomes.append(await recent.store_once("c", writes.of("c")))
        outcomes.append(await recent.store_once("a", writes.of("a")))  # forgotten: written again
        return outcomes

    outcomes = asyncio.run(run())

    assert writes.ids == ["a", "b", "c", "a"]
    assert outcomes == [Outcome.STORED] * 3 + [Outcome.DUPLICATE, Outcome.STORED]
    assert len(recent) == 2
    assert "a" in recent
    assert "c" in recent
    assert "b" not in recent


def test_a_failed_write_is_not_remembered() -> None:
    recent = RecentEvents(capacity=10)

    async def fail() -> None:
        raise ProduceError("no leader")

    async def run() -> None:
        with pytest.raises(ProduceError):
            await recent.store_once("x", fail)

    asyncio.run(run())
    assert "x" not in recent
    assert len(recent) == 0


def test_a_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecentEvents(capacity=0)
