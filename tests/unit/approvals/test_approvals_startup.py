"""Start-up order: gestures are consumed only once the ledger and employee views hold what
was on their topics at start, and a stop while waiting for them ends the service cleanly.
A view that dies, while loading or later, ends the service with its error, unready."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

import httpx
import pytest

from approvals.inject import ApprovalsApp
from chassis.kafka.view import ViewFailedError

pytestmark = pytest.mark.unit


class SlowView:
    """A view that catches up when the test says so."""

    def __init__(self) -> None:
        self.caught_up = threading.Event()
        self.stopped = False
        self.failure: ViewFailedError | None = None

    def wait_until_caught_up(self, timeout: float) -> bool:
        if self.failure is not None:
            raise self.failure
        return self.caught_up.wait(timeout)

    def die(self) -> None:
        self.failure = ViewFailedError("view ledger stopped: StateLoadError: cannot read")

    def stop(self) -> None:
        self.stopped = True


class RecordingRunner:
    def __init__(self, views: list[SlowView]) -> None:
        self.views = views
        self.views_caught_up_at_start: list[bool] | None = None
        self.started = asyncio.Event()
        self.stopping = asyncio.Event()
        self.assigned = False

    async def run(self) -> None:
        self.views_caught_up_at_start = [v.caught_up.is_set() for v in self.views]
        self.started.set()
        await self.stopping.wait()

    def stop(self) -> None:
        self.stopping.set()


class ClosableProducer:
    closed = False

    def close(self) -> None:
        self.closed = True


def _app(views: list[SlowView]) -> tuple[ApprovalsApp, RecordingRunner]:
    runner = RecordingRunner(views)
    app = ApprovalsApp(
        runner=cast(Any, runner),
        desk=cast(Any, None),
        http=httpx.AsyncClient(),
        producer=cast(Any, ClosableProducer()),
        views=cast(Any, views),
    )
    return app, runner


def test_the_runner_starts_only_after_every_view_has_caught_up() -> None:
    async def scenario() -> RecordingRunner:
        ledger, employees = SlowView(), SlowView()
        app, runner = _app([ledger, employees])
        running = asyncio.create_task(app.run())
        ledger.caught_up.set()  # the employee view is still reading
        await asyncio.sleep(0)
        assert not runner.started.is_set()
        employees.caught_up.set()
        async with asyncio.timeout(10):
            await runner.started.wait()
        app.stop()
        async with asyncio.timeout(10):
            await running
        assert ledger.stopped
        assert employees.stopped
        return runner

    runner = asyncio.run(scenario())
    assert runner.views_caught_up_at_start == [True, True]


def test_a_stop_while_the_views_load_ends_without_consuming() -> None:
    async def scenario() -> tuple[RecordingRunner, SlowView]:
        view = SlowView()
        app, runner = _app([view])
        running = asyncio.create_task(app.run())
        app.stop()
        async with asyncio.timeout(10):
            await running
        return runner, view

    runner, view = asyncio.run(scenario())
    assert runner.views_caught_up_at_start is None  # never consumed
    assert view.stopped


def test_a_view_that_dies_while_loading_ends_the_service_with_its_error() -> None:
    async def scenario() -> tuple[RecordingRunner, SlowView, ApprovalsApp]:
        view = SlowView()
        app, runner = _app([view])
        running = asyncio.create_task(app.run())
        view.die()
        async with asyncio.timeout(10):
            with pytest.raises(ViewFailedError, match="StateLoadError"):
                await running
        return runner, view, app

    runner, view, app = asyncio.run(scenario())
    assert runner.views_caught_up_at_start is None  # never consumed
    assert view.stopped
    assert not app.ready()


def test_a_view_that_dies_while_consuming_stops_the_runner_and_ends_the_service() -> None:
    async def scenario() -> tuple[RecordingRunner, SlowView, list[bool]]:
        view = SlowView()
        view.caught_up.set()
        app, runner = _app([view])
        runner.assigned = True
        running = asyncio.create_task(app.run())
        async with asyncio.timeout(10):
            await runner.started.wait()
        readiness = [app.ready()]
        view.die()
        readiness.append(app.ready())
        async with asyncio.timeout(10):
            with pytest.raises(ViewFailedError):
                await running
        return runner, view, readiness

    runner, view, readiness = asyncio.run(scenario())
    assert readiness == [True, False]
    assert runner.stopping.is_set()  # the runner was stopped (it lets go of what it had)
    assert view.stopped
