"""A tenant's schedule: a pull at start and every interval; a webhook nudge pulls at once, but
no sooner than the nudge minimum after the last pull began, and nudges during a pull queue one
more pull, not one each. The pull is a fake that records its trigger and can be held open; no
test waits on wall time beyond an event's deadline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from airbase_poller.allowance import CallAllowance
from airbase_poller.nudges import WebhookNudges
from airbase_poller.pull import PullResult, Tenant
from airbase_poller.schedule import TenantSchedule
from chassis.errors import RetryableError
from chassis.kafka.record import Record
from events.airbase import AirbaseWebhookReceived

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

DEADLINE = 10.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Pulls:
    """Stands in for `TenantPuller`: records each pull's trigger; `gate` holds a pull open."""

    tenant: Tenant = field(default_factory=lambda: Tenant("tenant-se-1", "1234567"))
    vias: list[str] = field(default_factory=list)
    gate: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Condition = field(default_factory=asyncio.Condition)
    fail: bool = False
    cost: int = 2
    """Calls each pull makes (a page and the empty one past the end)."""
    calls: int = 0

    def calls_made(self) -> int:
        return self.calls

    async def pull(self, via: str) -> PullResult:
        self.started.set()
        self.calls += self.cost
        if self.gate is not None:
            await self.gate.wait()
        async with self.done:
            self.vias.append(via)
            self.done.notify_all()
        if self.fail:
            raise RetryableError("Airbase unavailable")
        return PullResult(listed=0, published=0, listing_calls=self.cost)

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(DEADLINE), self.done:
            await self.done.wait_for(lambda: len(self.vias) >= count)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def running(schedule: TenantSchedule) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stopped = asyncio.Event()
    return stopped, asyncio.create_task(schedule.run(stopped))


def schedule(
    pulls: Pulls, clock: Clock | None = None, *, per_hour: int = 1000, **kw: Any
) -> TenantSchedule:
    clock = clock or Clock()
    options: dict[str, Any] = {"every_seconds": 3600.0, "nudge_min_seconds": 0.0} | kw
    allowance = CallAllowance(per_hour, clock=clock)
    return TenantSchedule(pulls, clock=clock, allowance=allowance, **options)  # type: ignore[arg-type]


async def test_a_nudge_pulls_at_once_and_says_it_came_from_a_webhook() -> None:
    pulls = Pulls()
    s = schedule(pulls)
    stopped, task = await running(s)
    await pulls.wait_for(1)
    s.nudge()
    await pulls.wait_for(2)
    stopped.set()
    await asyncio.wait_for(task, DEADLINE)
    assert pulls.vias == ["poll", "webhook"]


async def test_nudges_during_a_pull_queue_one_more_pull_not_one_each() -> None:
    pulls = Pulls(gate=asyncio.Event())
    s = schedule(pulls)
    stopped, task = await running(s)
    await asyncio.wait_for(pulls.started.wait(), DEADLINE)
    for _ in range(25):  # a storm of duplicate or unsigned webhooks while the pull reads
        s.nudge()
    pulls.gate.set()  # type: ignore[union-attr]
    await pulls.wait_for(2)
    assert not s.nudged, "the 25 nudges made one pull; none is left pending"
    s.nudge()  # a nudge after that pull makes the next one
    await pulls.wait_for(3)
    stopped.set()
    await asyncio.wait_for(task, DEADLINE)
    assert pulls.vias == ["poll", "webhook", "webhook"]
    assert s.pulls == 3


async def test_a_nudge_waits_for_the_minimum_after_the_last_pull_began() -> None:
    pulls = Pulls()
    clock = Clock()
    s = schedule(pulls, clock, nudge_min_seconds=30.0)
    assert await s.pull_once("poll") is not None
    s.nudge()
    stopped = asyncio.Event()
    waiting = asyncio.create_task(s.wait_next(stopped))
    await asyncio.sleep(0)
    assert not waiting.done()  # 0 s after the pull: not yet
    clock.now = 30.0
    s.nudge()  # wakes the wait, which now finds the minimum passed
    assert await asyncio.wait_for(waiting, DEADLINE) == "webhook"


async def test_the_interval_pulls_without_any_nudge() -> None:
    pulls = Pulls()
    clock = Clock()
    s = schedule(pulls, clock, every_seconds=300.0)
    await s.pull_once("poll")
    clock.now = 300.0
    assert await asyncio.wait_for(s.wait_next(asyncio.Event()), DEADLINE) == "poll"


async def test_an_unavailable_airbase_is_tried_again_later_not_fatal() -> None:
    pulls = Pulls(fail=True)
    s = schedule(pulls)
    assert await s.pull_once("poll") is None
    assert s.pulls == 1


async def test_a_stored_webhook_nudges_its_tenant_and_a_foreign_one_is_dropped() -> None:
    pulls = Pulls()
    s = schedule(pulls)
    nudges = WebhookNudges({"tenant-se-1": s})

    def record(tenant: str) -> Record:
        webhook = AirbaseWebhookReceived(
            event_id="evt_1", tenant_id=tenant, event_type="bill_paid", signed=True,
            received_at="2026-03-02T10:00:00Z",  # type: ignore[arg-type]
        )  # fmt: skip
        return Record("airbase.webhook.v1", 0, 0, tenant, b"", [], value=webhook.to_record())

    await nudges(record("tenant-xx-9"))
    assert not s.nudged
    await nudges(record("tenant-se-1"))
    assert s.nudged


async def test_scheduled_pulls_are_spaced_so_that_an_hour_of_them_fits_the_allowance() -> None:
    clock = Clock()
    s = schedule(Pulls(cost=10), clock, per_hour=100, every_seconds=60.0)
    await s.pull_once("poll")

    async def due_now() -> bool:
        waiting = asyncio.create_task(s.wait_next(asyncio.Event()))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        if waiting.done():
            assert waiting.result() == "poll"
            return True
        waiting.cancel()
        return False

    clock.now = 60.0  # the interval has passed, but 10 pulls of 10 calls an hour: every 360 s
    assert not await due_now()
    clock.now = 359.0
    assert not await due_now()
    clock.now = 360.0
    assert await due_now()


async def test_no_pull_starts_while_the_hours_calls_are_spent_not_even_a_webhooks() -> None:
    pulls = Pulls(cost=40)
    clock = Clock()
    s = schedule(pulls, clock, per_hour=100, every_seconds=1.0, nudge_min_seconds=0.0)
    for at in (0.0, 10.0):  # 80 of 100 calls spent; the next pull would make 120
        clock.now = at
        await s.pull_once("poll")
    s.nudge()
    waiting = asyncio.create_task(s.wait_next(asyncio.Event()))
    await asyncio.sleep(0)
    clock.now = 3599.0
    s.nudge()
    await asyncio.sleep(0)
    assert not waiting.done(), "the first pull's calls are still in the hour"
    clock.now = 3600.0
    s.nudge()
    assert await asyncio.wait_for(waiting, DEADLINE) == "webhook"


def test_the_allowance_counts_a_sliding_hour() -> None:
    clock = Clock()
    allowance = CallAllowance(100, clock=clock)
    allowance.record(60)
    clock.now = 1800.0
    allowance.record(30)
    assert (allowance.spent(), allowance.wait_seconds(10), allowance.wait_seconds(11)) == (
        90, 0.0, 1800.0)  # fmt: skip
    clock.now = 3600.0
    assert (allowance.spent(), allowance.wait_seconds(70)) == (30, 0.0)
    assert allowance.spacing(2) == 72.0
    assert CallAllowance(100, clock=clock, time_scale=60).spacing(2) == 1.2
