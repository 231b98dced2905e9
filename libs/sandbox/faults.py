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
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, Field

ADMIN_PREFIX = "/_sandbox"


class FaultRule(BaseModel):
    status: int | None = Field(default=None, ge=200, le=599)
    retry_after: int | None = Field(default=None, ge=0)
    times: int | None = Field(default=1, ge=1)
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
    fired: int = 0

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id,
            "remaining": self.remaining,
            "fired": self.fired,
            **self.rule.model_dump(),
        }


class FaultInjector:
    def __init__(self, *, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._rules: list[ActiveFault] = []
        self._ids = itertools.count(1)
        self.injected = 0

    def add(self, rule: FaultRule) -> ActiveFault:
        fault = ActiveFault(id=next(self._ids), rule=rule, remaining=rule.times)
        self._rules.append(fault)
        return fault

    def active(self) -> list[ActiveFault]:
        return list(self._rules)

    def clear(self) -> None:
        self._rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """Consume one firing of the first rule matching this call, if any."""
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
        return render(rule)


def add_fault_routes(router: APIRouter, faults: FaultInjector) -> None:
    """`GET|POST|DELETE /faults` on a simulator's admin router."""

    @router.get("/faults")
    async def list_faults() -> list[dict[str, object]]:
        return [f.describe() for f in faults.active()]

    @router.post("/faults", status_code=201)
    async def add_fault(rule: FaultRule) -> dict[str, object]:
        return faults.add(rule).describe()

    @router.delete("/faults")
    async def clear_faults() -> dict[str, object]:
        faults.clear()
        return {"ok": True}
