"""Each tenant pulled on its interval, and at once when a webhook nudges it.

One loop per tenant, one pull at a time: the pulls of a tenant share its token's hourly
allowance, of which they make at most `hourly_calls` an hour (`airbase_poller.allowance`):
scheduled pulls are spaced so that an hour of them fits, and while the last hour's calls are
spent no pull starts, not even a webhook's. A nudge (`AirbaseWebhookReceived`) makes the
tenant due now, but never sooner than `nudge_min_seconds` after its last pull began, and
nudges arriving during a pull queue at most one more pull: a storm of webhooks (duplicates,
or unsigned ones when the portal gives no secret) costs one pull, not one per webhook. The
schedule pulls anyway, which is what catches a webhook Airbase never sent.

A pull Airbase does not answer now (a retryable error: an outage, a 429 past the client's
retries) is tried again at the next interval. A refused token holds its tenant only: the
token is read from the vault again and the next pull (at the interval) uses it, so an
operator's `mlc secrets set` fixes it without a restart; other tenants go on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from prometheus_client import Counter

from airbase_client import AirbaseCredentialsRefused
from airbase_poller.allowance import CallAllowance
from airbase_poller.pull import PullResult, TenantPuller
from chassis.errors import RetryableError
from events.airbase import POLL, WEBHOOK, Via

log = logging.getLogger(__name__)

PULLS = Counter(
    "mlc_airbase_pulls_total", "Tenant pulls by trigger and outcome (ok, unavailable, refused)",
    ["tenant", "via", "outcome"],
)  # fmt: skip
HELD = Counter(
    "mlc_airbase_pulls_held_total",
    "Waits for the tenant's hourly call allowance (hourly_calls) before a pull",
    ["tenant"],
)
NUDGES = Counter(
    "mlc_airbase_nudges_total", "Webhook nudges by outcome: due (pulled now), queued, coalesced",
    ["tenant", "outcome"],
)  # fmt: skip


class TenantSchedule:
    def __init__(
        self,
        puller: TenantPuller,
        *,
        every_seconds: float,
        nudge_min_seconds: float,
        allowance: CallAllowance,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`allowance` shares `clock`."""
        self.puller = puller
        self._every = every_seconds
        self._nudge_min = nudge_min_seconds
        self._allowance = allowance
        self._last_cost = 0
        self._listing_cost = 0
        self._clock = clock
        self._nudged = False
        self._wake = asyncio.Event()
        self._last_start: float | None = None
        self._pulling = False
        self.pulls = 0
        self.last: PullResult | None = None

    @property
    def tenant_id(self) -> str:
        return self.puller.tenant.tenant_id

    @property
    def nudged(self) -> bool:
        """A nudge is waiting for the next pull."""
        return self._nudged

    def nudge(self) -> None:
        """A webhook said something changed in this tenant's Airbase: pull soon."""
        outcome = "coalesced" if self._nudged else ("queued" if self._pulling else "due")
        NUDGES.labels(self.tenant_id, outcome).inc()
        self._nudged = True
        self._wake.set()

    async def pull_once(self, via: Via) -> PullResult | None:
        """One pull now; None when Airbase did not answer (tried again later)."""
        self._pulling = True
        self._last_start = self._clock()
        before = self.puller.calls_made()
        try:
            result = await self.puller.pull(via)
        except RetryableError as exc:
            PULLS.labels(self.tenant_id, via, "unavailable").inc()
            log.warning("tenant not pulled this time", extra={
                "tenant": self.tenant_id, "error": str(exc)})  # fmt: skip
            return None
        except AirbaseCredentialsRefused as exc:
            # This tenant only: the others go on. Held until the vault has another token.
            PULLS.labels(self.tenant_id, via, "refused").inc()
            renewed = await self.puller.renew_credentials()
            log.error("Airbase refused the tenant's token: the tenant waits for another in "
                      "the vault", extra={"tenant": self.tenant_id, "error": str(exc),
                      "token_renewed": renewed})  # fmt: skip
            return None
        finally:
            self._pulling = False
            self.pulls += 1
            self._last_cost = self.puller.calls_made() - before
            self._allowance.record(self._last_cost)
        PULLS.labels(self.tenant_id, via, "ok").inc()
        self.last = result
        self._listing_cost = result.listing_calls
        if result.published or result.budget_stopped:
            log.info("pulled", extra={
                "tenant": self.tenant_id, "via": via, "listed": result.listed,
                "published": result.published, "budget_stopped": result.budget_stopped,
            })  # fmt: skip
        return result

    async def run(self, stopped: asyncio.Event) -> None:
        via: Via = POLL
        while not stopped.is_set():
            await self.pull_once(via)
            via = await self.wait_next(stopped)

    async def wait_next(self, stopped: asyncio.Event) -> Via:
        """Waits until the next pull is due; what made it due."""
        started = self._last_start if self._last_start is not None else self._clock()
        # Spaced by what a pull costs when nothing is new (its list): the bills a busy pull
        # read are work done, and the hour's cap (`held`) bounds them.
        due = started + max(self._every, self._allowance.spacing(self._listing_cost))
        while not stopped.is_set():
            if self._nudged:
                due = min(due, started + self._nudge_min)
            now = self._clock()
            held = self._allowance.wait_seconds(self._listing_cost)
            if held > 0 and now + held > due:
                HELD.labels(self.tenant_id).inc()
                due = now + held  # the hour's calls are spent: not even a webhook pulls now
            wait = due - now
            if wait <= 0:
                break
            self._wake.clear()
            stop = asyncio.ensure_future(stopped.wait())
            wake = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({stop, wake}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
                wake.cancel()
        via: Via = WEBHOOK if self._nudged else POLL
        self._nudged = False
        return via
