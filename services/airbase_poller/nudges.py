"""The ingress's stored Airbase webhooks (`airbase.webhook.v1`) nudge their tenant's pull.

A webhook carries no payment: it only says that something happened in a tenant's Airbase,
so its tenant is pulled at once (`TenantSchedule.nudge`) and the pull reads the truth from
the API. A nudge for a tenant this poller does not pull is counted and dropped, not
dead-lettered: without a signing secret the ingress takes any tenant's webhook, and another
poller deployment may pull that tenant.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

from airbase_poller.schedule import TenantSchedule
from chassis.kafka.record import Record
from events.airbase import AirbaseWebhookReceived

log = logging.getLogger(__name__)

FOREIGN = Counter(
    "mlc_airbase_nudges_foreign_total", "Webhooks for a tenant this poller does not pull"
)


class WebhookNudges:
    def __init__(self, schedules: dict[str, TenantSchedule]) -> None:
        self._schedules = schedules

    async def __call__(self, record: Record) -> None:
        webhook = AirbaseWebhookReceived.from_record(record.value)
        schedule = self._schedules.get(webhook.tenant_id)
        if schedule is None:
            FOREIGN.inc()
            log.info("webhook for a tenant not pulled here", extra={
                "tenant": webhook.tenant_id, "event_id": webhook.event_id})  # fmt: skip
            return
        schedule.nudge()
