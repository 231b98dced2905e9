"""Fault rules over a span of sandbox time, with Retry-After in the clock's real seconds."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from sandbox.clock import SandboxClock
from sandbox.faults import FaultInjector, FaultRule, install_fault_middleware

pytestmark = pytest.mark.unit


class Wall:
    """A real-time source the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _app(faults: FaultInjector) -> TestClient:
    app = FastAPI()

    @app.get("/api/chat.postMessage")
    async def post() -> dict[str, bool]:
        return {"ok": True}

    def render(rule: FaultRule) -> Response:
        headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
        return Response(status_code=rule.status or 500, headers=headers)

    install_fault_middleware(app, faults, render)
    return TestClient(app)


def test_an_outage_lasts_its_sandbox_seconds_whatever_the_number_of_calls() -> None:
    wall = Wall()
    clock = SandboxClock(speed=20.0, source=wall)
    faults = FaultInjector(clock=clock)
    faults.add(FaultRule(status=503, times=None, for_seconds=300, retry_after=30))
    client = _app(faults)

    during = [client.get("/api/chat.postMessage") for _ in range(50)]
    wall.now += 14.9  # 298 sandbox seconds
    still = client.get("/api/chat.postMessage")
    wall.now += 0.2  # 302 sandbox seconds: the outage is over
    after = client.get("/api/chat.postMessage")

    assert {r.status_code for r in during} == {503}
    assert still.status_code == 503
    assert {r.headers["retry-after"] for r in [*during, still]} == {"2"}, "30 s at speed 20"
    assert after.status_code == 200
    assert faults.active() == []
    assert faults.fired_by_status == {503: 51}


def test_retry_after_is_unchanged_at_real_speed_and_a_counted_rule_still_counts() -> None:
    faults = FaultInjector(clock=SandboxClock(speed=1.0, source=Wall()))
    faults.add(FaultRule(status=429, times=2, retry_after=7))
    client = _app(faults)

    answers = [client.get("/api/chat.postMessage") for _ in range(3)]

    assert [r.status_code for r in answers] == [429, 429, 200]
    assert [r.headers.get("retry-after") for r in answers[:2]] == ["7", "7"]
