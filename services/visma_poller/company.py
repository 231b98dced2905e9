"""Runs one company's entity pollers on its budget plan, one poll at a time.

Polls of one company are sequential: they share one hourly call budget, and Visma counts
calls per company. A webhook notification makes its entity due at once (`trigger`); the
schedule still polls it later, which is what catches a dropped notification. Triggers are
coalesced per entity: while a pull is in flight, any number of triggers queue at most one
more pull, so a replayed or repeated notification cannot spend the company's budget.

A failed poll never stops the other companies: a retryable failure is retried after a
pause, a permanent one of one entity (a 403 on its route) at that entity's cadence, and
refused credentials hold the whole company with a growing backoff (`refusal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge

from chassis.errors import ConnectorError, PermanentError
from visma_client.errors import VismaCredentialsRefused
from visma_poller.config import EntitySchedule
from visma_poller.poller import EntityPoller
from visma_poller.refusal import CredentialStatus, CredentialWatch
from visma_poller.schedule import BudgetPlan, EntityWish, plan

log = logging.getLogger(__name__)

CADENCE = Gauge("mlc_visma_cadence_seconds", "Planned seconds between polls", ["company", "entity"])
TRIGGERS = Counter(
    "mlc_visma_triggers_total",
    "Webhook-triggered pulls: pulled (made due now), queued behind one in flight, coalesced",
    ["company", "entity", "outcome"],
)
RETRY_AFTER_FAILURE_SECONDS = 30.0


class CompanySchedule:
    def __init__(
        self,
        *,
        company_id: str,
        pollers: dict[str, EntityPoller],
        schedule: dict[str, EntitySchedule],
        budget_per_hour: int,
        reserve: float,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.company_id = company_id
        self._pollers = pollers
        self._schedule = schedule
        self._budget = budget_per_hour
        self._reserve = reserve
        self._scale = time_scale
        self._clock = clock
        self._calls_per_poll = dict.fromkeys(pollers, 1.0)
        self._due = dict.fromkeys(pollers, clock())
        self._wake = asyncio.Event()
        self._in_flight: str | None = None
        self._queued: set[str] = set()
        self.credentials = CredentialWatch(company_id, clock=clock, time_scale=time_scale)
        self.plan = self._replan(announce=True)
        self.polls = 0
        self.pages = 0

    def trigger(self, entity: str) -> bool:
        """A webhook said `entity` changed: pull it now. False if this company does not poll it."""
        if entity not in self._pollers:
            return False
        now = self._clock()
        if entity == self._in_flight:
            # The pull in flight may have read past the change: one more pull after it.
            outcome = "coalesced" if entity in self._queued else "queued"
            self._queued.add(entity)
        elif self._due[entity] <= now:
            outcome = "coalesced"  # already due: the coming pull covers it
        else:
            outcome = "pulled"
            self._due[entity] = now
            self._wake.set()
        TRIGGERS.labels(self.company_id, entity, outcome).inc()
        return True

    @property
    def pending_pulls(self) -> int:
        """Pulls in flight, queued behind one, or due now (0: the company waits for its plan)."""
        now = self._clock()
        due = sum(1 for entity, at in self._due.items() if at <= now and entity != self._in_flight)
        return (self._in_flight is not None) + len(self._queued) + due

    def status(self) -> CredentialStatus:
        """Whether Visma accepts this company's credentials (for health checks)."""
        return self.credentials.status()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            entity = min(self._due, key=self._due.__getitem__)
            due = max(self._due[entity], self.credentials.held_until)
            wait = due - self._clock()
            if wait > 0:
                await self._sleep(wait, stop)
                continue
            await self._poll(entity)

    async def _sleep(self, seconds: float, stop: asyncio.Event) -> None:
        self._wake.clear()
        stopping = asyncio.ensure_future(stop.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.wait({stopping, woken}, return_when=asyncio.FIRST_COMPLETED), seconds
            )
        for task in (stopping, woken):
            task.cancel()

    async def _poll(self, entity: str) -> None:
        poller = self._pollers[entity]
        self._in_flight = entity
        try:
            result = await poller.poll_once()
        except VismaCredentialsRefused as exc:
            # Every entity of the company shares the credentials: the whole company waits.
            self._queued.discard(entity)
            self.credentials.refused(str(exc))
            return
        except PermanentError as exc:
            # This entity only (a 403 on its route, a rejected filter): the same request
            # fails again in 30 s, so it waits for its own cadence; the others go on.
            log.error(
                "poll refused, will try again at the entity's cadence",
                extra={"company": self.company_id, "entity": entity, "error": str(exc)},
            )
            self._queued.discard(entity)
            self._due[entity] = self._clock() + self.plan.every(entity) / self._scale
            return
        except ConnectorError as exc:
            # Pages already committed stay committed; the next poll resumes after them.
            log.warning(
                "poll failed, will try again",
                extra={"company": self.company_id, "entity": entity, "error": str(exc)},
            )
            self._queued.discard(entity)
            self._due[entity] = self._clock() + RETRY_AFTER_FAILURE_SECONDS / self._scale
            return
        finally:
            self._in_flight = None
        self.credentials.accepted()
        self.polls += 1
        self.pages += result.pages
        # An empty poll still costs its one call; a long one costs one call per page.
        calls = max(1, result.pages)
        previous = self._calls_per_poll[entity]
        self._calls_per_poll[entity] = 0.7 * previous + 0.3 * calls
        if abs(self._calls_per_poll[entity] - previous) > 0.5:
            self.plan = self._replan(announce=True)
        if entity in self._queued:
            self._queued.discard(entity)
            self._due[entity] = self._clock()
        else:
            self._due[entity] = self._clock() + self.plan.every(entity) / self._scale
        if result.events:
            log.info(
                "poll done",
                extra={"company": self.company_id, "entity": entity, "events": result.events},
            )

    def _replan(self, *, announce: bool) -> BudgetPlan:
        wishes = [
            EntityWish(name, s.every, s.priority, self._calls_per_poll[name])
            for name, s in self._schedule.items()
            if name in self._pollers
        ]
        new = plan(wishes, budget_per_hour=self._budget, reserve=self._reserve)
        for entity_plan in new.entities:
            CADENCE.labels(self.company_id, entity_plan.entity).set(entity_plan.every_seconds)
        if announce:
            level = logging.WARNING if any(e.slowed for e in new.entities) else logging.INFO
            log.log(
                level,
                "budget plan",
                extra={
                    "company": self.company_id,
                    "budget_per_hour": self._budget,
                    "plan": new.describe(),
                },
            )
        return new
