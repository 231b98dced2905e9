"""The runner's hold and batching pieces on their own: no Kafka, plain records."""

from __future__ import annotations

import asyncio

import pytest

from chassis.kafka.batching import Batching, take_batch
from chassis.kafka.held import Held, wait_for_release
from chassis.kafka.record import Record

pytestmark = pytest.mark.unit

DEADLINE = 10.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _records(n: int, *, thread_at: int | None = None) -> list[Record]:
    records = [Record("t", 0, i, "k", b"", [], schema="s", value={}) for i in range(n)]
    if thread_at is not None:
        records[thread_at].value["thread_ts"] = "1.2"
    return records


async def _handler(batch: list[Record]) -> None:
    return None


def _batching(queue_over: int = 2, max_records: int = 3) -> Batching:
    return Batching(
        handler=_handler,
        queue_over=queue_over,
        max_records=max_records,
        foldable=lambda r: "thread_ts" not in r.value,
    )


def test_a_short_queue_is_not_batched() -> None:
    assert take_batch(_records(2), _batching(), group="g", usable=lambda r: True) is None


def test_a_long_queue_gives_at_most_max_records_from_its_head() -> None:
    batch = take_batch(_records(5), _batching(), group="g", usable=lambda r: True)
    assert [r.offset for r in batch or []] == [0, 1, 2]


def test_an_unfoldable_or_unusable_record_ends_the_batch() -> None:
    no_reply = take_batch(_records(5, thread_at=2), _batching(), group="g", usable=lambda r: True)
    assert [r.offset for r in no_reply or []] == [0, 1]
    lone = take_batch(_records(5), _batching(), group="g", usable=lambda r: r.offset != 1)
    assert lone is None  # one record is no batch: it goes the ordinary way


@pytest.mark.anyio
async def test_a_released_hold_asks_for_another_call_and_costs_no_attempt() -> None:
    records = _records(2)
    for r in records:
        r.attempts = 1
    asked, fixed = asyncio.Event(), asyncio.Event()

    async def released() -> None:
        asked.set()
        await fixed.wait()

    waiting = asyncio.create_task(
        wait_for_release(records, Held("down", released=released), group="g", let_go=lambda: False)
    )
    await asyncio.wait_for(asked.wait(), DEADLINE)
    assert all(r.held for r in records)
    fixed.set()
    assert await asyncio.wait_for(waiting, DEADLINE) is True
    assert [(r.attempts, r.held) for r in records] == [(0, False), (0, False)]


@pytest.mark.anyio
async def test_a_hold_lets_go_when_told_to_and_stops_waiting_for_the_release() -> None:
    records = _records(1)
    never = asyncio.Event()
    released = await asyncio.wait_for(
        wait_for_release(
            records, Held("down", released=never.wait), group="g", let_go=lambda: True
        ),
        DEADLINE,
    )
    assert released is False
    assert not records[0].held
