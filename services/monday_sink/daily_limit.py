"""Holding a tenant's work while monday's daily call limit is spent, and letting it go at the
reset.

monday counts calls per token per day (`DAILY_LIMIT_EXCEEDED`); past the limit every call of
that token is refused until the reset. Nothing is wrong with the commands, so they are held
(the chassis hold: kept uncommitted, their board's key paused, other tenants going on),
never retried to exhaustion nor dead-lettered. An alert goes to the logs once per hold and
`mlc_monday_daily_limit_held{tenant}` is 1 while it lasts.

The hold ends at the reset monday announced (`retry_in_seconds`), or earlier when a cheap
probe call every `probe_seconds` goes through (the limit was raised, or the clock reached the
reset sooner than announced: a sandbox clock moved forward).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge

from chassis.credential_hold import CredentialHolds
from chassis.kafka.record import Held, HoldKind
from monday_client import MondayDailyLimitReached

log = logging.getLogger(__name__)

HELD = Gauge(
    "mlc_monday_daily_limit_held",
    "1 while monday's daily call limit holds the tenant's commands",
    ["tenant"],
)
ALERTS = Counter(
    "mlc_monday_daily_limit_alerts_total", "monday's daily call limit was reached", ["tenant"]
)
REASON = "monday daily call limit reached"

Probe = Callable[[], Awaitable[object]]
"""One cheap call with the tenant's token: raises `MondayDailyLimitReached` while it lasts."""


class DailyLimits:
    def __init__(
        self, *, probe_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._holds = CredentialHolds(refresh_seconds=probe_seconds)
        self._clock = clock

    def check(self, tenant: str) -> None:
        """Raises the tenant's `Held` while its daily limit holds it."""
        held = self._holds.held(tenant)
        if held is not None:
            raise held

    def reached(self, tenant: str, error: MondayDailyLimitReached, *, probe: Probe) -> Held:
        """Holds the tenant (alerting once) and returns the `Held` to raise."""
        wait = error.retry_after
        if wait is None:
            wait = max(0.0, (error.resets_at - datetime.now(UTC)).total_seconds())
        reset_at = self._clock() + wait
        if not self._holds.is_held(tenant):
            HELD.labels(tenant).set(1)
            ALERTS.labels(tenant).inc()
            log.error(
                "ALERT: monday's daily call limit is reached; the tenant's commands are held "
                "until it resets",
                extra={
                    "tenant": tenant,
                    "error": str(error),
                    "reset_in_seconds": round(wait, 1),
                    "reset_at": error.resets_at.isoformat(),
                },
            )
        return self._holds.hold(
            tenant,
            replaced=lambda: self._over(tenant, reset_at, probe),
            reason=REASON,
            kind=HoldKind.DAILY_LIMIT,
            until=datetime.now(UTC) + timedelta(seconds=wait),
        )

    async def _over(self, tenant: str, reset_at: float, probe: Probe) -> bool:
        if self._clock() < reset_at:
            try:
                await probe()
            except MondayDailyLimitReached:
                return False
        HELD.labels(tenant).set(0)
        log.warning("monday's daily call limit has reset; held commands go on",
                    extra={"tenant": tenant})  # fmt: skip
        return True

    async def aclose(self) -> None:
        await self._holds.aclose()
