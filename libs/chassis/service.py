"""How every long-running service process starts and stops.

Each service's composition root builds an object with `run`, `stop` and `ready`; this module
puts the health and metrics endpoints up, turns SIGTERM (Kubernetes) and SIGINT (Ctrl-C)
into a graceful `stop`, and writes the `started` and `stopped` log lines that operators and
the end-to-end tests wait for. Keeping it in one place means every service shuts down the
same way: finish or let go of what it started, then close its clients.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Protocol

from chassis.health import HealthServer
from chassis.kafka.runner import ConsumerRunner

__all__ = ["ConsumerService", "Service", "run_service"]

log = logging.getLogger(__name__)


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
    the runner has finished (or let go of) its last record, however it ended."""

    runner: ConsumerRunner

    def ready(self) -> bool:
        return self.runner.assigned

    def stop(self) -> None:
        self.runner.stop()

    async def run(self) -> None:
        try:
            await self.runner.run()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Closes the service's clients and producers; nothing to close by default."""


def run_service(build: Callable[[], Service], *, health_port: int, **started: object) -> None:
    """Runs the service `build` returns until a signal stops it; `started` adds fields to
    the `started` log line. `build` is called inside the event loop, so what it makes may
    bind to that loop."""
    asyncio.run(_serve(build, health_port=health_port, started=started))


async def _serve(
    build: Callable[[], Service], *, health_port: int, started: dict[str, object]
) -> None:
    service = build()
    health = HealthServer(port=health_port, ready=service.ready).start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.stop)
    log.info("started", extra={**started, "health_port": health.port})
    try:
        await service.run()
    finally:
        health.stop()
        log.info("stopped")
