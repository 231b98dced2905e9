"""One-shot webhook notifications of changed Visma records, signed like Visma's dispatcher.

Every create or change made through the admin API is announced to each matching
subscription with one POST of a minified JSON body, signed as
``base64(HMAC-SHA256(secret, body))`` in a configurable header. Delivery runs in the
background and happens at most once: no retry on an error or a non-2xx answer, and a
``drop_rate`` share is silently never sent, so a consumer must not rely on webhooks
alone (it still has to poll). The real ERP payload and header name are UNCONFIRMED.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from collections import Counter
from dataclasses import dataclass, field

import httpx
from pydantic import BaseModel, Field, SecretStr

from sandbox.background import BackgroundTasks
from sandbox.visma.records import format_millis
from sandbox.visma.store import Record


class WebhookSubscription(BaseModel):
    url: str
    secret: SecretStr
    header_name: str = "X-Visma-Signature"
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    entities: list[str] | None = None
    companies: list[str] | None = None

    def matches(self, record: Record) -> bool:
        return (self.entities is None or record.entity in self.entities) and (
            self.companies is None or record.company in self.companies
        )

    def describe(self) -> dict[str, object]:
        return self.model_dump(exclude={"secret"})


def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def notification_body(record: Record, event: str) -> bytes:
    payload = {
        "tenantId": record.company,
        "companyId": record.company,
        "entity": record.entity,
        "id": record.entity_id,
        "event": event,
        "timestamp": format_millis(record.last_modified) + "Z",
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class WebhookStats:
    sent: int = 0
    dropped: int = 0
    failed: int = 0
    by_status: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "dropped": self.dropped,
            "failed": self.failed,
            "by_status": dict(self.by_status),
        }


class WebhookDispatcher:
    """Fans a change out to the subscriptions; owns neither retries nor the HTTP client."""

    def __init__(self, *, client: httpx.AsyncClient | None, seed: int) -> None:
        self.client = client
        self.subscriptions: list[WebhookSubscription] = []
        self.stats = WebhookStats()
        self._rng = random.Random(seed)
        self._tasks = BackgroundTasks()

    def notify(self, record: Record, event: str) -> None:
        """Schedule one delivery per matching subscription; call from the event loop."""
        matching = [s for s in self.subscriptions if s.matches(record)]
        if not matching:
            return
        body = notification_body(record, event)
        for subscription in matching:
            if subscription.drop_rate and self._rng.random() < subscription.drop_rate:
                self.stats.dropped += 1
                continue
            self._tasks.start(self._deliver(subscription, body))

    async def _deliver(self, subscription: WebhookSubscription, body: bytes) -> None:
        if self.client is None:
            raise RuntimeError("webhook delivery needs an HTTP client")
        headers = {
            "Content-Type": "application/json",
            subscription.header_name: sign(subscription.secret.get_secret_value(), body),
        }
        self.stats.sent += 1
        try:
            response = await self.client.post(subscription.url, content=body, headers=headers)
        except httpx.HTTPError:
            # Delivered at most once: a transport failure is counted, never retried.
            self.stats.failed += 1
            self.stats.by_status["error"] += 1
            return
        self.stats.by_status[str(response.status_code)] += 1
        if not response.is_success:
            self.stats.failed += 1

    async def drain(self) -> None:
        """Wait for every delivery under way (tests and shutdown)."""
        await self._tasks.drain()

    async def cancel(self) -> None:
        await self._tasks.cancel()
