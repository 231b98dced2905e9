"""run_service: health endpoints while the service runs, SIGTERM and SIGINT stop it gracefully,
the started/stopped log lines bracket the run, and a service that failed exits non-zero."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterator
from types import FrameType

import httpx
import pytest

from chassis.kafka.view import ViewFailedError
from chassis.service import EXIT_FAILED, run_service

pytestmark = pytest.mark.unit

DEADLINE = 10.0


class FakeService:
    """Asks for readiness over HTTP, then sends itself a signal and waits to be stopped."""

    def __init__(self, caplog: pytest.LogCaptureFixture, signum: signal.Signals) -> None:
        self._caplog = caplog
        self._signum = signum
        self._stopping = asyncio.Event()
        self.is_ready = False
        self.answers: list[int] = []
        self.stopped_by_signal = False
        self.closed = False

    def ready(self) -> bool:
        return self.is_ready

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        port = _started_record(self._caplog).health_port
        url = f"http://127.0.0.1:{port}/readyz"
        self.answers.append((await asyncio.to_thread(httpx.get, url)).status_code)
        self.is_ready = True
        self.answers.append((await asyncio.to_thread(httpx.get, url)).status_code)
        signal.raise_signal(self._signum)
        try:
            await asyncio.wait_for(self._stopping.wait(), DEADLINE)
            self.stopped_by_signal = True
        finally:
            self.closed = True


def _started_record(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    return next(r for r in caplog.records if r.getMessage() == "started")


@pytest.fixture
def unhandled_signals() -> Iterator[list[int]]:
    """A signal the service fails to take is recorded here instead of ending the test run."""
    seen: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    previous = {s: signal.signal(s, note) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield seen
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_service_between_started_and_stopped(
    caplog: pytest.LogCaptureFixture, unhandled_signals: list[int], signum: signal.Signals
) -> None:
    caplog.set_level(logging.INFO, logger="chassis.service")
    service = FakeService(caplog, signum)

    run_service(lambda: service, health_port=0, companies=2)

    assert service.stopped_by_signal
    assert service.closed
    assert unhandled_signals == []
    assert service.answers == [503, 200]
    started = _started_record(caplog)
    assert started.companies == 2  # type: ignore[attr-defined]
    messages = [r.getMessage() for r in caplog.records if r.name == "chassis.service"]
    assert messages == ["started", "stopped"]
    with pytest.raises(httpx.TransportError):  # the health server went with the service
        httpx.get(f"http://127.0.0.1:{started.health_port}/healthz", timeout=2)  # type: ignore[attr-defined]


def test_the_service_is_built_inside_the_event_loop(unhandled_signals: list[int]) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    class Quick:
        def ready(self) -> bool:
            return True

        def stop(self) -> None:
            return None

        async def run(self) -> None:
            return None

    def build() -> Quick:
        loops.append(asyncio.get_running_loop())
        return Quick()

    run_service(build, health_port=0)

    assert len(loops) == 1


def test_a_failed_service_logs_why_and_exits_non_zero(
    caplog: pytest.LogCaptureFixture, unhandled_signals: list[int]
) -> None:
    caplog.set_level(logging.INFO, logger="chassis.service")
    closed: list[bool] = []

    class DeadView:
        def ready(self) -> bool:
            return True

        def stop(self) -> None:
            return None

        async def run(self) -> None:
            try:
                raise ViewFailedError("view ledger stopped: StateLoadError: cannot read offsets")
            finally:
                closed.append(True)

    with pytest.raises(SystemExit) as exited:
        run_service(DeadView, health_port=0)

    assert exited.value.code == EXIT_FAILED != 0
    assert closed == [True]
    failed = next(r for r in caplog.records if r.getMessage() == "service failed")
    assert failed.levelno == logging.ERROR
    assert failed.reason == (  # type: ignore[attr-defined]
        "ViewFailedError: view ledger stopped: StateLoadError: cannot read offsets"
    )
    messages = [r.getMessage() for r in caplog.records if r.name == "chassis.service"]
    assert messages == ["started", "service failed", "stopped"]
