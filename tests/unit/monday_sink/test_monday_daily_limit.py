"""monday's daily call limit holds the tenant's commands (never failed, never dead-lettered),
alerts once in the log and the metric, and lets them go when a probe passes or the
announced reset comes."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import REGISTRY
from tests.unit.monday_sink.monday_sink_kit import (
    TENANT,
    Monday,
    command,
    daily_limit,
    record,
)
from tests.unit.monday_sink.test_monday_upsert import Sink

from chassis.kafka.handling import handling
from chassis.kafka.record import Held
from monday_sink.daily_limit import DailyLimits

pytestmark = pytest.mark.unit


def held_metric() -> float | None:
    return REGISTRY.get_sample_value("mlc_monday_daily_limit_held", {"tenant": TENANT})


@pytest.mark.anyio
async def test_the_daily_limit_holds_the_tenant_alerts_once_and_a_probe_releases_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    sink = Sink()
    sink.monday.refuse = 3600.0
    first = record(command("INV-1", 1))
    with pytest.raises(Held) as held:
        await sink.handle(first)
    assert "daily call limit" in str(held.value)
    assert held_metric() == 1
    calls = len(sink.monday.calls)
    with pytest.raises(Held):  # the next command of the tenant waits without calling monday
        await sink.handle(record(command("INV-2", 1)))
    assert len(sink.monday.calls) == calls
    alerts = [r for r in caplog.records if r.getMessage().startswith("ALERT: monday's daily")]
    assert len(alerts) == 1

    await asyncio.wait_for(sink.monday.called("board", 2), 5)  # two probes, both refused
    assert held_metric() == 1
    sink.monday.refuse = None  # the limit reset (a sandbox clock moved past midnight)
    await asyncio.wait_for(held.value.released(), timeout=5)
    assert held_metric() == 0
    await sink.handle(first)
    await sink.handle(record(command("INV-2", 1)))
    assert len(sink.monday.on_board(command("x", 1).board_id)) == 2
    assert [e for e in sink.audit.events if e["stage"] in ("failed", "dead_lettered")] == []


@pytest.mark.anyio
async def test_the_announced_reset_ends_the_hold_without_a_probe_passing() -> None:
    now = [1000.0]
    limits = DailyLimits(probe_seconds=0.01, clock=lambda: now[0])
    monday = Monday()
    monday.refuse = 60.0

    async def probe() -> None:
        await monday.board("b")

    held = limits.reached("t", daily_limit(60.0), probe=probe)
    await asyncio.wait_for(monday.called("board", 2), 5)  # probed twice before the reset
    with pytest.raises(Held):
        limits.check("t")
    now[0] += 60.0
    await asyncio.wait_for(held.released(), timeout=5)
    limits.check("t")  # not held any more
    await limits.aclose()


def test_a_hold_is_kept_across_handler_calls_per_tenant_only() -> None:
    async def scenario() -> None:
        limits = DailyLimits(probe_seconds=60)
        limits.reached("a", daily_limit(86_400.0),
                       probe=lambda: asyncio.sleep(0))  # fmt: skip
        with pytest.raises(Held):
            limits.check("a")
        limits.check("b")
        await limits.aclose()

    with handling([record(command("x", 1))]):
        asyncio.run(scenario())
