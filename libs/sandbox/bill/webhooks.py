"""BILL webhook events: signed over the exact bytes sent, delivered once or with retries.

Each change to a vendor or bill is POSTed to every enabled subscription of its
organization that asked for its event type, as ``{"metadata": {eventId, subscriptionId,
organizationId, eventType, version}, "vendor"|"bill": {…every field…}}`` in minified JSON,
with ``x-bill-sha-signature`` = base64(HMAC-SHA256(securityKey, those bytes)). The key is
the subscription's current one when each attempt is made.

Two delivery modes (``BillWebhookConfig.mode``): ``retry`` (BILL's docs) retries a non-2xx
answer or a transport error after each of ``retry_delays_seconds`` (sandbox seconds) and,
when they run out, disables the subscription; ``once`` (the seed) makes one attempt. A
``drop_rate`` share of events is never sent at all. ``log`` keeps every event's outcome
(``delivered``, ``failed``, ``dropped``, ``skipped`` when the subscription went away) with
its sandbox times, so a test can tell webhook-delivered records from poll-caught ones.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.background import BackgroundTasks
from sandbox.bill.config import BillWebhookConfig, DeliveryMode
from sandbox.bill.subscriptions import Subscription, Subscriptions
from sandbox.clock import SandboxClock

SIGNATURE_HEADER = "x-bill-sha-signature"


def sign(security_key: str, body: bytes) -> str:
    digest = hmac.new(security_key.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass
class EventRecord:
    event_id: str
    subscription_id: str
    event_type: str
    entity_id: str
    published_at: float
    outcome: str = "pending"
    attempts: int = 0
    delivered_at: float | None = None

    def view(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "subscriptionId": self.subscription_id,
            "eventType": self.event_type,
            "entityId": self.entity_id,
            "publishedAt": self.published_at,
            "outcome": self.outcome,
            "attempts": self.attempts,
            "deliveredAt": self.delivered_at,
        }


class BillWebhooks:
    def __init__(
        self,
        config: BillWebhookConfig,
        clock: SandboxClock,
        subscriptions: Subscriptions,
        *,
        client: httpx.AsyncClient | None,
        seed: int,
    ) -> None:
        self.config = config
        self.clock = clock
        self.subscriptions = subscriptions
        self.client = client
        self.stats: Counter[str] = Counter()
        self.log: list[EventRecord] = []
        self._rng = random.Random(seed)
        self._tasks = BackgroundTasks()

    def publish(self, organization_id: str, event_type: str, record: dict[str, Any]) -> None:
        """One event per interested subscription; call from the event loop."""
        entity = event_type.split(".")[0]
        for subscription in self.subscriptions.of(organization_id):
            if not subscription.wants(event_type):
                continue
            metadata = {
                "eventId": str(uuid.uuid4()),
                "subscriptionId": subscription.id,
                "organizationId": organization_id,
                "eventType": event_type,
                "version": "1",
            }
            entry = EventRecord(
                metadata["eventId"], subscription.id, event_type, record["id"], self.clock.time()
            )
            self.log.append(entry)
            self.stats["published"] += 1
            if self.config.drop_rate > 0 and self._rng.random() < self.config.drop_rate:
                entry.outcome = "dropped"
                self.stats["dropped"] += 1
                continue
            body = json.dumps(
                {"metadata": metadata, entity: record}, separators=(",", ":"), ensure_ascii=False
            ).encode()
            self._tasks.start(self._deliver(subscription, entry, body))

    def _real_seconds(self, sandbox_seconds: float) -> float:
        speed = self.clock.speed
        return sandbox_seconds / speed if speed > 0 else sandbox_seconds

    async def _deliver(self, subscription: Subscription, entry: EventRecord, body: bytes) -> None:
        delays = [] if self.config.mode is DeliveryMode.ONCE else self.config.retry_delays_seconds
        for attempt in range(len(delays) + 1):
            if attempt:
                await asyncio.sleep(self._real_seconds(delays[attempt - 1]))
            if not subscription.enabled:
                entry.outcome = "skipped"
                self.stats["skipped"] += 1
                return
            entry.attempts += 1
            self.stats["attempts"] += 1
            if await self._attempt(subscription, body):
                entry.outcome, entry.delivered_at = "delivered", self.clock.time()
                self.stats["delivered"] += 1
                return
        entry.outcome = "failed"
        self.stats["failed"] += 1
        if self.config.mode is DeliveryMode.RETRY and subscription.enabled:
            Subscriptions.disable(subscription, self.clock.now())
            self.stats["disabled"] += 1

    async def _attempt(self, subscription: Subscription, body: bytes) -> bool:
        if self.client is None:
            return False
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(subscription.security_key, body),
        }
        try:
            response = await self.client.post(
                subscription.body.notificationUrl,
                content=body,
                headers=headers,
                timeout=self.config.timeout_seconds,
            )
        except httpx.HTTPError:
            return False
        return response.is_success

    async def drain(self) -> None:
        """Wait for every delivery under way, retries included (tests and shutdown)."""
        await self._tasks.drain()

    async def cancel(self) -> None:
        await self._tasks.cancel()
