"""The credential-check service: every configured credential probed every few minutes.

Each cycle reads the vault again (a secret an operator replaced is the one checked next),
probes every entry one after the other and publishes the results as gauges. Between cycles
it waits on its stop event, so a SIGTERM ends it at once. A vault the broker cannot serve
just now skips the cycle (counted; the last cycle's time stops moving, which the alert
rules watch); a master key that opens nothing is a failure of the service itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import httpx
from pydantic import SecretStr

from chassis.vault_envelope import VaultUnavailable
from credential_check.config import CheckConfig
from credential_check.metrics import CheckGauges
from credential_check.probes import probe_all
from credential_check.result import CheckResult

__all__ = ["CredentialCheckService", "SecretsReader"]

log = logging.getLogger(__name__)

SecretsReader = Callable[[], Callable[[str], SecretStr]]
"""Reads the vault now (blocking: it reads a Kafka topic) and returns its lookup."""


class CredentialCheckService:
    def __init__(
        self,
        config: CheckConfig,
        *,
        read_secrets: SecretsReader,
        gauges: CheckGauges,
        every_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._read_secrets = read_secrets
        self._gauges = gauges
        self._every = every_seconds
        self._transport = transport
        self._clock = clock
        self._stopping = asyncio.Event()
        self.cycles_done = 0
        self.last_results: list[CheckResult] = []
        self.cycle_ended = asyncio.Event()
        """Set after each cycle (tests wait on it; cleared by whoever waits)."""

    def ready(self) -> bool:
        return self.cycles_done > 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            await self.cycle()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._every)

    async def cycle(self) -> list[CheckResult]:
        """One round of checks, published; empty when the vault could not be read."""
        try:
            secret = await asyncio.to_thread(self._read_secrets)
        except VaultUnavailable as exc:
            log.warning("vault unavailable; cycle skipped", extra={"error": str(exc)})
            self._gauges.cycles.labels("vault_unavailable").inc()
            return []
        results = await probe_all(self._config.entries(), secret=secret, transport=self._transport)
        self._gauges.publish(results, now=self._clock())
        failed = [f"{r.system}/{r.credential}" for r in results if not r.ok]
        log.info(
            "credentials checked",
            extra={"checked": len(results), "failed": len(failed), "failing": failed},
        )
        self.last_results = results
        self.cycles_done += 1
        self.cycle_ended.set()
        return results
