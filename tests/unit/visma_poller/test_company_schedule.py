"""One company's schedule on a fake clock: who is polled when, triggers, failures, re-plans.

The entity pollers are fakes that log each poll with the clock's time. The schedule runs
until a given number of polls happened (the fakes set its stop event), under a deadline, so
a schedule that sleeps when it should poll fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import pytest
from prometheus_client import REGISTRY

from chassis.errors import RetryableError
from visma_client.errors import VismaAuthError, VismaCredentialsRefused
from visma_poller.company import RETRY_AFTER_FAILURE_SECONDS, CompanySchedule
from visma_poller.config import EntitySchedule
from visma_poller.poller import PollResult
from visma_poller.refusal import MAX_BACKOFF_SECONDS

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

DEADLINE = 5.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Clock:
    now: float = 1000.0
    reads: int = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


@dataclass
class PollLog:
    clock: Clock
    polls: list[tuple[str, float]] = field(default_factory=list)
    stop_at: tuple[int, asyncio.Event] | None = None

    def record(self, entity: str) -> None:
        self.polls.append((entity, self.clock.now))
        if self.stop_at is not None and len(self.polls) >= self.stop_at[0]:
            self.stop_at[1].set()


@dataclass
class FakePoller:
    """Answers each poll with the next scripted outcome, then with one quiet page."""

    entity: str
    log: PollLog
    outcomes: list[PollResult | Exception] = field(default_factory=list)

    async def poll_once(self) -> PollResult:
        self.log.record(self.entity)
        outcome = self.outcomes.pop(0) if self.outcomes else PollResult(events=0, pages=1)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@dataclass
class Bench:
    clock: Clock
    log: PollLog
    pollers: dict[str, FakePoller]
    schedule: CompanySchedule

    def start(self, polls: int | None = None) -> tuple[asyncio.Task[None], asyncio.Event]:
        stop = asyncio.Event()
        self.log.stop_at = (len(self.log.polls) + polls, stop) if polls else None
        return asyncio.create_task(self.schedule.run(stop)), stop

    async def run_until(self, polls: int) -> list[str]:
        """Runs until `polls` more polls happened; the entities polled, in order."""
        before = len(self.log.polls)
        task, _ = self.start(polls)
        await asyncio.wait_for(task, DEADLINE)
        return [entity for entity, _ in self.log.polls[before:]]

    async def assert_idle(self) -> None:
        """The schedule looks at the clock, finds nothing due, and waits."""
        before, reads = len(self.log.polls), self.clock.reads
        task, stop = self.start()
        for _ in range(5):
            await asyncio.sleep(0)
        assert self.clock.reads > reads, "the schedule never ran"
        assert self.log.polls[before:] == [], "polled although nothing was due"
        stop.set()
        await asyncio.wait_for(task, DEADLINE)


def bench(
    cadences: dict[str, float],
    *,
    budget: int = 100_000,
    reserve: float = 0.0,
    time_scale: float = 1.0,
    extra_schedule: dict[str, EntitySchedule] | None = None,
) -> Bench:
    """Entities in the given order, priorities rising in that order (first is most urgent)."""
    clock = Clock()
    log = PollLog(clock)
    pollers = {name: FakePoller(name, log) for name in cadences}
    schedule = {name: EntitySchedule(every=every, priority=10 * (i + 1))
                for i, (name, every) in enumerate(cadences.items())}  # fmt: skip
    schedule |= extra_schedule or {}
    company = CompanySchedule(
        company_id="company-1", pollers=pollers,  # type: ignore[arg-type]
        schedule=schedule, budget_per_hour=budget, reserve=reserve, time_scale=time_scale,
        clock=clock,
    )  # fmt: skip
    return Bench(clock, log, pollers, company)


async def test_every_entity_is_polled_at_start_then_the_most_overdue_first() -> None:
    # Listed least overdue first, so the order cannot come from the listing.
    b = bench({"account": 600, "supplier": 300, "supplierInvoice": 60})
    assert sorted(await b.run_until(3)) == ["account", "supplier", "supplierInvoice"]
    await b.assert_idle()
    b.clock.now += 700  # overdue by 100, 400 and 640 seconds
    assert await b.run_until(3) == ["supplierInvoice", "supplier", "account"]
    await b.assert_idle()


async def test_an_entity_is_polled_again_after_its_cadence_not_before() -> None:
    b = bench({"supplierInvoice": 60, "account": 3600})
    await b.run_until(2)
    b.clock.now += 59.9
    await b.assert_idle()
    b.clock.now += 0.1
    assert await b.run_until(1) == ["supplierInvoice"]
    assert b.schedule.polls == 3
    assert b.schedule.pages == 3


async def test_a_trigger_makes_its_entity_due_now_even_while_the_schedule_waits() -> None:
    b = bench({"supplierInvoice": 300, "account": 3600})
    await b.run_until(2)
    b.clock.now += 10
    task, _ = b.start(polls=1)
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()
    assert len(b.log.polls) == 2, "nothing is due yet"
    assert b.schedule.trigger("account") is True
    await asyncio.wait_for(task, DEADLINE)
    assert b.log.polls[-1] == ("account", b.clock.now)
    # The triggered poll restarts that entity's cadence; the other keeps its own.
    b.clock.now += 300 - 10
    assert await b.run_until(1) == ["supplierInvoice"]
    await b.assert_idle()


async def test_a_trigger_for_an_entity_not_polled_is_refused() -> None:
    # `customer` is in the schedule but has no poller here (filtered out, say).
    b = bench({"supplierInvoice": 300},
              extra_schedule={"customer": EntitySchedule(every=3600)})  # fmt: skip
    await b.run_until(1)
    assert b.schedule.trigger("customer") is False
    assert b.schedule.trigger("noSuchEntity") is False
    await b.assert_idle()


async def test_a_failed_poll_is_retried_after_the_failure_pause() -> None:
    b = bench({"supplierInvoice": 3600, "account": 7200})
    b.pollers["supplierInvoice"].outcomes.append(RetryableError("503 from Visma"))
    await b.run_until(2)
    assert b.schedule.polls == 1, "a failed poll is not counted as done"
    b.clock.now += RETRY_AFTER_FAILURE_SECONDS - 0.1
    await b.assert_idle()
    b.clock.now += 0.1
    assert await b.run_until(1) == ["supplierInvoice"]
    # After the successful retry the entity is back on its own cadence.
    b.clock.now += RETRY_AFTER_FAILURE_SECONDS
    await b.assert_idle()


async def test_an_error_that_is_not_a_connector_error_stops_the_schedule() -> None:
    b = bench({"supplierInvoice": 60})
    b.pollers["supplierInvoice"].outcomes.append(ValueError("a bug"))
    task, _ = b.start()
    with pytest.raises(ValueError, match="a bug"):
        await asyncio.wait_for(task, DEADLINE)


async def test_the_time_scale_shortens_cadences_and_the_failure_pause() -> None:
    b = bench({"supplierInvoice": 600, "account": 3600}, time_scale=60)
    b.pollers["account"].outcomes.append(RetryableError("timeout"))
    await b.run_until(2)
    b.clock.now += 0.4  # the failure pause, 30 s, is half a second at 60x
    await b.assert_idle()
    b.clock.now += 0.1
    assert await b.run_until(1) == ["account"]
    b.clock.now += 9.4  # 600 s at 60x is 10 s after the first poll
    await b.assert_idle()
    b.clock.now += 0.1
    assert await b.run_until(1) == ["supplierInvoice"]


async def test_the_plan_is_remade_when_polls_need_more_pages() -> None:
    # 100 calls an hour: a one-page poll a minute (60) fits; ten pages a poll do not.
    b = bench({"supplierInvoice": 60}, budget=100)
    first_plan = b.schedule.plan
    assert first_plan.every("supplierInvoice") == 60
    b.pollers["supplierInvoice"].outcomes.append(PollResult(events=900, pages=10))
    await b.run_until(1)
    replanned = b.schedule.plan
    assert replanned is not first_plan
    # Calls a poll are smoothed: 0.7 * 1 + 0.3 * 10 = 3.7, so 3,600 * 3.7 / 100 s apart.
    slowed = 3600 * 3.7 / 100
    assert replanned.every("supplierInvoice") == pytest.approx(slowed)
    assert "(wished 1 min)" in replanned.describe()
    # The next poll comes at the new cadence, not the wished one.
    b.clock.now += 60
    await b.assert_idle()
    b.clock.now += slowed - 60
    assert await b.run_until(1) == ["supplierInvoice"]


async def test_the_plan_stays_when_pages_per_poll_barely_change() -> None:
    b = bench({"supplierInvoice": 60}, budget=100)
    first_plan = b.schedule.plan
    b.pollers["supplierInvoice"].outcomes.append(PollResult(events=3, pages=2))  # 1.3 a poll
    await b.run_until(1)
    assert b.schedule.plan is first_plan


@dataclass
class GatedPoller:
    """A poll that stays in flight until the test opens the gate."""

    entity: str
    log: PollLog
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def poll_once(self) -> PollResult:
        self.log.record(self.entity)
        self.started.set()
        await self.gate.wait()
        return PollResult(events=0, pages=1)


def _triggers(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "mlc_visma_triggers_total",
        {"company": "company-1", "entity": "supplierInvoice", "outcome": outcome},
    )
    return value or 0.0


async def test_triggers_during_a_pull_in_flight_queue_exactly_one_more_pull() -> None:
    b = bench({"supplierInvoice": 300})
    gated = GatedPoller("supplierInvoice", b.log)
    b.schedule._pollers["supplierInvoice"] = gated  # type: ignore[assignment]
    queued, coalesced = _triggers("queued"), _triggers("coalesced")
    task, stop = b.start()
    await asyncio.wait_for(gated.started.wait(), DEADLINE)
    for _ in range(100):  # a replayed notification, 100 times, while the pull runs
        assert b.schedule.trigger("supplierInvoice") is True
    b.log.stop_at = (2, stop)
    gated.gate.set()
    await asyncio.wait_for(task, DEADLINE)
    # The pull in flight may have read before the change: one more, at once, and no more.
    assert b.log.polls == [("supplierInvoice", 1000.0), ("supplierInvoice", 1000.0)]
    assert _triggers("queued") - queued == 1
    assert _triggers("coalesced") - coalesced == 99
    await b.assert_idle()
    b.clock.now += 300
    assert await b.run_until(1) == ["supplierInvoice"]


async def test_triggers_while_idle_make_one_pull() -> None:
    b = bench({"supplierInvoice": 300})
    await b.run_until(1)
    b.clock.now += 10
    for _ in range(100):
        b.schedule.trigger("supplierInvoice")
    assert await b.run_until(1) == ["supplierInvoice"]
    await b.assert_idle()


def _refusals() -> float:
    value = REGISTRY.get_sample_value(
        "mlc_visma_credential_refusals_total", {"company": "company-1"}
    )
    return value or 0.0


def _refused_gauge() -> float | None:
    return REGISTRY.get_sample_value("mlc_visma_credentials_refused", {"company": "company-1"})


async def test_refused_credentials_hold_the_company_with_backoff_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    b = bench({"supplierInvoice": 60, "account": 3600})
    refused = VismaCredentialsRefused("Visma Connect refused the token request: invalid_client")
    b.pollers["supplierInvoice"].outcomes += [refused, refused, refused]
    before = _refusals()
    caplog.set_level(logging.WARNING, logger="visma_poller")
    # The first refusal holds the company: `account` (also due) waits too.
    assert await b.run_until(1) == ["supplierInvoice"]
    status = b.schedule.status()
    assert status.refused
    assert status.refusals == 1
    assert "invalid_client" in (status.error or "")
    assert _refused_gauge() == 1
    for backoff in (30.0, 60.0, 120.0):
        b.clock.now += backoff - 0.1
        await b.assert_idle()
        b.clock.now += 0.1
        # The probe after the hold is the entity that was refused; the third one passes.
        assert await b.run_until(1) == ["supplierInvoice"]
    assert _refusals() - before == 3
    assert not b.schedule.status().refused
    assert _refused_gauge() == 0
    assert await b.run_until(1) == ["account"]
    # The poller's own lines only: a Kafka client another test left open may log here too.
    errors = [
        r for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("visma_poller")
    ]  # fmt: skip
    assert [r.getMessage() for r in errors] == [
        "visma refuses the company's credentials; polling it is held"
    ]
    assert any("accepts the company's credentials again" in r.getMessage()
               for r in caplog.records)  # fmt: skip


async def test_the_backoff_for_refused_credentials_stops_growing_at_its_ceiling() -> None:
    b = bench({"supplierInvoice": 60})
    refusals = 12
    b.pollers["supplierInvoice"].outcomes += [VismaCredentialsRefused("401 twice")] * refusals
    await b.run_until(1)
    waits = []
    for _ in range(refusals - 1):
        waits.append(b.schedule.status().retry_in_seconds)
        b.clock.now += MAX_BACKOFF_SECONDS
        await b.run_until(1)
    assert waits[:4] == [30.0, 60.0, 120.0, 240.0]
    assert max(w or 0 for w in waits) == MAX_BACKOFF_SECONDS


async def test_a_403_on_one_entity_holds_neither_the_company_nor_the_30_s_retry() -> None:
    b = bench({"supplierInvoice": 300, "account": 600})
    b.pollers["account"].outcomes.append(VismaAuthError("Visma 403 forbidden on /v1/account"))
    await b.run_until(2)
    assert not b.schedule.status().refused, "the credentials work: other entities go on"
    b.clock.now += RETRY_AFTER_FAILURE_SECONDS
    await b.assert_idle()
    b.clock.now += 300 - RETRY_AFTER_FAILURE_SECONDS
    assert await b.run_until(1) == ["supplierInvoice"], "no retry of account after 30 s"
    b.clock.now += 300
    assert sorted(await b.run_until(2)) == ["account", "supplierInvoice"], "at its cadence"
