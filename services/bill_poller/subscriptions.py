"""BILL disables a subscription whose deliveries kept failing; each cycle notices and re-enables it.

While a subscription is disabled no webhook comes at all, and the poll carries every change
alone: slower, never lost. So a disabled subscription is reported (a warning and
`mlc_bill_subscriptions_disabled_total`) and re-enabled (`PUT` with `status.enabled`); if
BILL refuses that (a permanent error), it says so (`outcome="refused"`) and the poll goes on.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

from bill_poller.source import BillSource
from chassis.errors import PermanentError

log = logging.getLogger(__name__)

DISABLED = Counter(
    "mlc_bill_subscriptions_disabled_total",
    "Subscriptions found disabled by BILL, by outcome: reenabled or refused",
    ["organization", "outcome"],
)


async def reenable_disabled(source: BillSource, *, organization_id: str) -> list[str]:
    """Re-enables every disabled subscription of the organization; the ids re-enabled."""
    reenabled = []
    for subscription in await source.subscriptions():
        if subscription.enabled:
            continue
        log.warning("BILL disabled a webhook subscription; re-enabling it", extra={
            "organization": organization_id, "subscription": subscription.id})  # fmt: skip
        try:
            after = await source.enable_subscription(subscription.id)
        except PermanentError as exc:
            DISABLED.labels(organization_id, "refused").inc()
            log.error("BILL refused to re-enable the subscription; the poll alone carries "
                      "its changes", extra={"organization": organization_id,
                      "subscription": subscription.id, "error": str(exc)})  # fmt: skip
            continue
        DISABLED.labels(organization_id, "reenabled" if after.enabled else "refused").inc()
        if after.enabled:
            reenabled.append(subscription.id)
    return reenabled
