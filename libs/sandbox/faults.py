"""Fault injection shared by the simulators.

Clients must cope with throttling, outages and slow answers that the live APIs produce
rarely and at random. A rule here makes one happen on demand: a status (429, 500, 503,
or 200 with a Slack error), an optional Retry-After, an optional delay, for the next
``times`` matching calls (``None`` means until cleared). With ``probability`` below 1 a
matching call is faulted only that often ("10% of calls fail"), drawn from a generator
seeded from the configuration so a test run repeats exactly. A long ``delay_seconds`` with
no status is the "timeout" fault: the answer comes, but after the client gave up.
``delay_after_seconds`` holds the answer *after* the call was handled (a post stored, an
action taken): the client cannot tell whether its call went through.
Admin paths are never faulted.

An outage is a span of time, not a number of calls: ``for_seconds`` keeps a rule active for
that long on the sandbox clock from when it is added ("503 to everything for 5 minutes"),
so a fast clock shortens it like everything else. ``retry_after`` is in sandbox seconds too
and the header says the real seconds it stands for (rounded up), so a client that honours
Retry-After comes back when the sandbox's outage or window is over, at any clock speed.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, Field

ADMIN_PREFIX = "/_sandbox"


class FaultClock(Protocol):
    """The sandbox clock as faults need it: its time and how fast it runs."""

    @property
    def speed(self) -> float: ...

    def time(self) -> float: ...


class FaultRule(BaseModel):
    status: int | None = Field(default=None, ge=200, le=599)
    retry_after: int | None = Field(default=None, ge=0)
    """Sandbox seconds; the header carries the real seconds they take at the clock's speed."""
    times: int | None = Field(default=1, ge=1)
    for_seconds: float | None = Field(default=None, gt=0)
    """Sandbox seconds the rule stays active from when it is added (also bounded by `times`
    unless that is null)."""
    path_prefix: str = ""
    method: str | None = None
    delay_seconds: float = Field(default=0.0, ge=0, le=120)
    delay_after_seconds: float = Field(default=0.0, ge=0, le=120)
    error: str | None = None
    probability: float = Field(default=1.0, ge=0.0, le=1.0)


@dataclass
class ActiveFault:
    id: int
    rule: FaultRule
    remaining: int | None
    ends_at: float | None = None
    """Sandbox epoch seconds after which the rule is gone (`for_seconds`)."""
    fired: int = 0

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id,
            "remaining": self.remaining,
            "ends_at": self.ends_at,
            "fired": self.fired,
            **self.rule.model_dump(),
        }


class _RealTime:
    speed = 1.0

    def time(self) -> float:
        return time.time()


class FaultInjector:
    def __init__(self, *, seed: int = 0, clock: FaultClock | None = None) -> None:
        self._rng = random.Random(seed)
        self._clock: FaultClock = clock or _RealTime()
        self._rules: list[ActiveFault] = []
        self._ids = itertools.count(1)
        self.injected = 0
        self.fired_by_status: dict[int, int] = {}
        """Answers faulted so far, by status (outlives the rules, for tests and stats)."""

    def add(self, rule: FaultRule) -> ActiveFault:
        ends_at = None if rule.for_seconds is None else self._clock.time() + rule.for_seconds
        fault = ActiveFault(id=next(self._ids), rule=rule, remaining=rule.times, ends_at=ends_at)
        self._rules.append(fault)
        return fault

    def active(self) -> list[ActiveFault]:
        self._expire()
        return list(self._rules)

    def clear(self) -> None:
        self._rules.clear()

    def in_real_seconds(self, rule: FaultRule) -> FaultRule:
        """The rule as a client sees it: `retry_after` turned from sandbox seconds into the
        real seconds they take at the clock's speed (rounded up)."""
        speed = self._clock.speed
        if rule.retry_after is None or speed in (0.0, 1.0):
            return rule
        return rule.model_copy(update={"retry_after": math.ceil(rule.retry_after / speed)})

    def _expire(self) -> None:
        now = self._clock.time()
        self._rules = [f for f in self._rules if f.ends_at is None or now < f.ends_at]

    def take(self, method: str, path: str) -> FaultRule | None:
        """Consume one firing of the first rule matching this call, if any."""
        self._expire()
        for fault in self._rules:
            rule = fault.rule
            if not path.startswith(rule.path_prefix):
                continue
            if rule.method is not None and rule.method.upper() != method.upper():
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            fault.fired += 1
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._rules.remove(fault)
            self.injected += 1
            if rule.status is not None:
                self.fired_by_status[rule.status] = self.fired_by_status.get(rule.status, 0) + 1
            return rule
        return None


def relative_path(request: Request) -> str:
    """The path inside the mounted simulator, whatever Starlette does with root_path."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


CallNext = Callable[[Request], Awaitable[Response]]


def install_fault_middleware(
    app: FastAPI, injector: FaultInjector, render: Callable[[FaultRule], Response]
) -> None:
    @app.middleware("http")
    async def inject_faults(request: Request, call_next: CallNext) -> Response:
        path = relative_path(request)
        if path.startswith(ADMIN_PREFIX):
            return await call_next(request)
        rule = injector.take(request.method, path)
        if rule is None:
            return await call_next(request)
        if rule.delay_seconds:
            # Real seconds, not sandbox seconds: the point is to trip client timeouts.
            await asyncio.sleep(rule.delay_seconds)
        if rule.status is None:
            response = await call_next(request)
            if rule.delay_after_seconds:
                await asyncio.sleep(rule.delay_after_seconds)
            return response
        return render(injector.in_real_seconds(rule))


def add_fault_routes(router: APIRouter, faults: FaultInjector) -> None:
    """`GET|POST|DELETE /faults` on a simulator's admin router."""

    @router.get("/faults")
    async def list_faults() -> list[dict[str, object]]:
        return [f.describe() for f in faults.active()]

    @router.get("/faults/fired")
    async def fired_faults() -> dict[str, object]:
        return {"injected": faults.injected, "by_status": faults.fired_by_status}

    @router.post("/faults", status_code=201)
    async def add_fault(rule: FaultRule) -> dict[str, object]:
        return faults.add(rule).describe()

    @router.delete("/faults")
    async def clear_faults() -> dict[str, object]:
        faults.clear()
        return {"ok": True}
