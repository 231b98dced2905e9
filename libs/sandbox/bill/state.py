"""The simulated BILL: its organizations' records, sessions, limits and webhooks together.

A change made as a BILL user would (``create``, ``change``, ``archive``) stamps the record
and publishes its event to the organization's subscriptions, so the admin routes and the
demo only ever go through here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from sandbox.bill.config import BillConfig
from sandbox.bill.errors import HOURLY_LIMIT
from sandbox.bill.limits import ConcurrencyGate, HourlyCounter
from sandbox.bill.records import BillRecords
from sandbox.bill.sessions import Sessions
from sandbox.bill.subscriptions import Subscriptions
from sandbox.bill.webhooks import BillWebhooks
from sandbox.clock import SandboxClock
from sandbox.faults import FaultInjector


class BillState:
    def __init__(
        self,
        config: BillConfig,
        clock: SandboxClock,
        *,
        webhook_client: httpx.AsyncClient | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config
        self.clock = clock
        self.faults = FaultInjector(seed=seed, clock=clock)
        self.sessions = Sessions(config, clock)
        self.requests = HourlyCounter(
            clock, limit=config.requests_per_hour, error=HOURLY_LIMIT, status=config.limit_status
        )
        self.gate = ConcurrencyGate(limit=config.concurrent_requests, status=config.limit_status)
        self.records = BillRecords(clock, [o.id for o in config.organizations])
        self.subscriptions = Subscriptions()
        self.writes = 0
        """API calls that changed something in BILL (subscriptions, their keys): a test that
        must change nothing reads it before and after."""
        self.webhooks = BillWebhooks(
            config.webhooks, clock, self.subscriptions, client=webhook_client, seed=seed
        )
        self.refusals: Counter[str] = Counter()

    def create(self, organization_id: str, entity: str, fields: dict[str, Any]) -> dict[str, Any]:
        record = self.records.create(organization_id, entity, fields)
        self.webhooks.publish(organization_id, f"{entity}.created", record)
        return record

    def change(
        self, organization_id: str, entity: str, record_id: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        record = self.records.change(organization_id, entity, record_id, fields)
        self.webhooks.publish(organization_id, f"{entity}.updated", record)
        return record

    def archive(
        self, organization_id: str, entity: str, record_id: str, *, archived: bool
    ) -> dict[str, Any]:
        record = self.records.set_archived(organization_id, entity, record_id, archived)
        action = "archived" if archived else "restored"
        self.webhooks.publish(organization_id, f"{entity}.{action}", record)
        return record

    def stats(self) -> dict[str, Any]:
        most_in_flight: dict[str, int] = {}
        for (_, organization), count in self.gate.most_in_flight.items():
            most_in_flight[organization] = max(count, most_in_flight.get(organization, 0))
        return {
            "logins": dict(self.sessions.logins_by_organization),
            "login_total": self.sessions.logins.total,
            "sessions_found_expired": dict(self.sessions.expired),
            "requests_total": self.requests.total,
            "refusals": dict(self.refusals),
            "most_in_flight": most_in_flight,
            "webhooks": dict(self.webhooks.stats),
            "key_rotations": self.subscriptions.rotations,
            "writes": self.writes,
        }
