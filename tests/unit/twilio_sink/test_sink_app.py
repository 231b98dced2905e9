"""The sink process runs two runners and a sweep: one ending (stopped or failed) ends all."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chassis.kafka.producer import ProduceError
from twilio_sink.inject import SinkApp, StatusPart

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


class Runner:
    def __init__(self, fails: Exception | None = None) -> None:
        self.fails = fails
        self.stopped = asyncio.Event()
        self.assigned = True

    async def run(self) -> None:
        if self.fails is not None:
            raise self.fails
        await self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()


class Sweeper:
    def __init__(self) -> None:
        self.ended = False

    async def sweep_every(self, seconds: float, stopping: asyncio.Event) -> None:
        await stopping.wait()
        self.ended = True


class Closed:
    failure = None

    def __init__(self) -> None:
        self.closed = False

    def stop(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


def app(status_runner: Runner) -> tuple[SinkApp, Runner, Sweeper, Closed]:
    sink, sweeper, view = Runner(), Sweeper(), Closed()
    part = StatusPart(status_runner, sweeper, view, 0.1)  # type: ignore[arg-type]
    built = SinkApp(sink, [], Closed(), part)  # type: ignore[arg-type]
    return built, sink, sweeper, view


async def test_a_failing_status_runner_stops_the_sink_and_its_failure_is_raised() -> None:
    built, sink, sweeper, view = app(Runner(fails=ProduceError("broker gone")))

    with pytest.raises(ProduceError, match="broker gone"):
        await asyncio.wait_for(built.run(), 10)

    assert sink.stopped.is_set()
    assert sweeper.ended
    assert view.closed


async def test_stop_ends_both_runners_and_the_sweep() -> None:
    status: Any = Runner()
    built, sink, sweeper, _ = app(status)
    running = asyncio.ensure_future(built.run())
    await asyncio.sleep(0)
    assert built.ready()

    built.stop()
    await asyncio.wait_for(running, 10)

    assert sink.stopped.is_set()
    assert status.stopped.is_set()
    assert sweeper.ended
