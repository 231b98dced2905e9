"""How every long-running service process starts and stops.

Each service's composition root builds an object with `run`, `stop` and `ready`; this module
puts the health and metrics endpoints up, turns SIGTERM (Kubernetes) and SIGINT (Ctrl-C)
into a graceful `stop`, and writes the `started` and `stopped` log lines that operators and
the end-to-end tests wait for. Keeping it in one place means every service shuts down the
same way: finish or let go of what it started, then close its clients.

A service that cannot go on (a `CompactedView` it reads died, say) fails loudly: `run` raises
a `ConnectorError`, readiness turns false, the reason is logged at error level and the process
exits with EXIT_FAILED, so Kubernetes restarts it instead of leaving it idle and "ready".
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from chassis.errors import ConnectorError
from chassis.health import HealthServer
from chassis.kafka.runner import ConsumerRunner
from chassis.kafka.view import CompactedView

__all__ = ["EXIT_FAILED", "ConsumerService", "Service", "run_service", "views_caught_up"]

log = logging.getLogger(__name__)

EXIT_FAILED = 1
VIEW_CHECK_SECONDS = 0.5
"""How often a running consumer service looks whether one of its views has died."""


class Service(Protocol):
    """What a service's composition root hands the chassis."""

    async def run(self) -> None:
        """Works until `stop()`, then closes what it opened."""

    def stop(self) -> None:
        """Asks `run()` to finish; called from the event loop, returns at once."""

    def ready(self) -> bool:
        """Whether `/readyz` should say ready (for example: partitions are assigned)."""


class ConsumerService:
    """A `Service` whose work is one consumer runner: ready once it has partitions, stopped
    by stopping the runner. Subclasses close what they opened in `aclose`, which runs after
    the runner has finished (or let go of) its last record, however it ended. A service that
    reads `views` is unready once one of them died, and its runner is stopped: `run` raises
    the view's `ViewFailedError`."""

    runner: ConsumerRunner
    views: Sequence[CompactedView[Any]] = ()

    def ready(self) -> bool:
        return self.runner.assigned and all(view.failure is None for view in self.views)

    def stop(self) -> None:
        self.runner.stop()

    async def run(self) -> None:
        try:
            await self.consume()
        finally:
            await self.aclose()

    async def consume(self) -> None:
        """Runs the runner until it ends; stops it and raises if a view dies meanwhile."""
        await _unless_a_view_fails(self.views, self.runner.run(), stop=self.runner.stop)

    async def aclose(self) -> None:
        """Closes the service's clients and producers; nothing to close by default."""


async def views_caught_up(
    views: Sequence[CompactedView[Any]], *, stopped: Callable[[], bool]
) -> bool:
    """Waits until every view holds what was on its topics at start (True), or until
    `stopped` says the service is stopping (False); raises the `ViewFailedError` of a view
    that died. A consumer that looks keys up in views starts consuming only after this."""
    for view in views:
        while not await asyncio.to_thread(view.wait_until_caught_up, VIEW_CHECK_SECONDS):
            if stopped():
                return False
    log.info("views caught up", extra={"views": len(views)})
    return True


async def _unless_a_view_fails(
    views: Sequence[CompactedView[Any]], work: Awaitable[None], *, stop: Callable[[], None]
) -> None:
    working = asyncio.ensure_future(work)
    while not working.done():
        failed = next((view.failure for view in views if view.failure is not None), None)
        if failed is not None:
            stop()
            await working
            raise failed
        await asyncio.wait([working], timeout=VIEW_CHECK_SECONDS)
    working.result()


def run_service(build: Callable[[], Service], *, health_port: int, **started: object) -> None:
    """Runs the service `build` returns until a signal stops it; `started` adds fields to
    the `started` log line. `build` is called inside the event loop, so what it makes may
    bind to that loop. A service that failed (its `run` raised a `ConnectorError`) is logged
    with the reason and ends the process with EXIT_FAILED."""
    failure = asyncio.run(_serve(build, health_port=health_port, started=started))
    if failure is not None:
        raise SystemExit(EXIT_FAILED) from failure


async def _serve(
    build: Callable[[], Service], *, health_port: int, started: dict[str, object]
) -> ConnectorError | None:
    service = build()
    failure: ConnectorError | None = None
    health = HealthServer(port=health_port, ready=lambda: failure is None and service.ready())
    health.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.stop)
    log.info("started", extra={**started, "health_port": health.port})
    try:
        await service.run()
    except ConnectorError as exc:
        failure = exc
        log.error("service failed", exc_info=exc,
                  extra={"reason": f"{type(exc).__name__}: {exc}"})  # fmt: skip
    finally:
        health.stop()
        log.info("stopped")
    return failure
