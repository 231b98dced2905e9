"""One cycle of the BILL poller: each organization's subscriptions checked, then its vendors
and bills polled; the cycles repeat every `every_seconds` until the service stops.

An organization BILL will not answer for now (a retryable error: its hourly or concurrency
limit past the client's retries, an outage) is left for the next cycle and the others go
on; a permanent error (credentials refused) ends the service, which says why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import Counter

from bill_poller.poller import ENTITIES, OrganizationPoller
from bill_poller.subscriptions import reenable_disabled
from chassis.errors import ConnectorError, RetryableError

log = logging.getLogger(__name__)

CYCLES = Counter(
    "mlc_bill_poll_cycles_total", "Organization cycles by outcome: ok, unavailable",
    ["organization", "outcome"],
)  # fmt: skip

CHECKS_FAILED = Counter(
    "mlc_bill_subscription_checks_failed_total",
    "Cycles whose subscription check BILL did not answer (the poll went on)", ["organization"],
)  # fmt: skip


@dataclass(frozen=True)
class CycleResult:
    published: int
    unavailable: tuple[str, ...]
    """Organizations left for the next cycle."""


class BillPoller:
    def __init__(self, pollers: Sequence[OrganizationPoller]) -> None:
        self._pollers = list(pollers)

    async def run_once(self) -> CycleResult:
        published = 0
        unavailable = []
        for poller in self._pollers:
            organization = poller.organization.organization_id
            try:
                published += await self.cycle(poller)
            except RetryableError as exc:
                CYCLES.labels(organization, "unavailable").inc()
                unavailable.append(organization)
                log.warning("organization not polled this time", extra={
                    "organization": organization, "error": str(exc)})  # fmt: skip
                continue
            CYCLES.labels(organization, "ok").inc()
        return CycleResult(published=published, unavailable=tuple(unavailable))

    @staticmethod
    async def cycle(poller: OrganizationPoller) -> int:
        organization = poller.organization.organization_id
        try:
            await reenable_disabled(poller.source, organization_id=organization)
        except ConnectorError as exc:  # the poll needs no subscription: it goes on and
            # meets a refused credential or an outage itself
            CHECKS_FAILED.labels(organization).inc()
            log.warning("subscriptions not checked this time", extra={
                "organization": organization, "error": str(exc)})  # fmt: skip
        published = 0
        for entity in ENTITIES:
            published += await poller.poll(entity)
        return published

    async def run_forever(self, stopped: asyncio.Event, *, every_seconds: float) -> None:
        while not stopped.is_set():
            result = await self.run_once()
            if result.published:
                log.info("polled", extra={"published": result.published})
            try:
                await asyncio.wait_for(stopped.wait(), timeout=every_seconds)
            except TimeoutError:
                continue
