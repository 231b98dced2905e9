"""Airbase webhook events, signed over the exact bytes sent and delivered at least once.

The payload ``{"id", "object": "event", "type", "created_date", "data"}`` is the seed's;
the event types, ``data`` and the signature are UNCONFIRMED (Airbase's portal manages
webhooks behind a login). With a secret set, ``X-Airbase-Signature: sha256=<hex>`` is the
HMAC-SHA256 of the body's bytes (header name and prefix configurable). Each tenant has its
own target (``PUT /airbase/_sandbox/webhooks``): a URL, an optional secret, a share of
events sent twice (``duplicate_rate``), a share never sent (``drop_rate``) and ``shuffle``,
which holds events and sends each batch in a seeded random order (a batch goes at
``shuffle_batch`` events or ``shuffle_window_seconds`` after its first, on the sandbox
clock). A failed attempt is retried after each of the configured delays (sandbox seconds).
The profile's field renames apply to the body as to every answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.airbase.config import AirbaseWebhookConfig, WebhookTarget
from sandbox.airbase.profile import AirbaseProfile
from sandbox.background import BackgroundTasks
from sandbox.clock import SandboxClock


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class EventRecord:
    event_id: str
    tenant: str
    type: str
    data: dict[str, Any]
    outcome: str = "pending"
    attempts: int = 0
    sent: list[float] = field(default_factory=list)
    """Sandbox times of each delivery that was answered 2xx (two with a duplicate)."""

    def view(self) -> dict[str, Any]:
        return {
            "id": self.event_id,
            "tenant": self.tenant,
            "type": self.type,
            "data": self.data,
            "outcome": self.outcome,
            "attempts": self.attempts,
            "sent": list(self.sent),
        }


@dataclass
class _Held:
    record: EventRecord
    target: WebhookTarget
    body: bytes


class AirbaseWebhooks:
    def __init__(
        self,
        config: AirbaseWebhookConfig,
        clock: SandboxClock,
        *,
        client: httpx.AsyncClient | None,
        seed: int,
    ) -> None:
        self.config = config
        self.clock = clock
        self.client = client
        self.targets: dict[str, WebhookTarget] = dict(config.targets)
        self.stats: Counter[str] = Counter()
        self.log: list[EventRecord] = []
        self._held: list[_Held] = []
        self._rng = random.Random(seed)
        self._ids = random.Random(seed + 1)
        self._tasks = BackgroundTasks()
        self._flush_timer: asyncio.TimerHandle | None = None

    def publish(
        self, tenant: str, event_type: str, data: dict[str, Any], *, profile: AirbaseProfile
    ) -> None:
        """Sends one event to the tenant's target, if it has one; call from the event loop."""
        target = self.targets.get(tenant)
        if target is None or target.url is None:
            return
        record = EventRecord(f"evt_{self._ids.getrandbits(96):024x}", tenant, event_type, data)
        self.log.append(record)
        self.stats["published"] += 1
        if target.drop_rate > 0 and self._rng.random() < target.drop_rate:
            record.outcome = "dropped"
            self.stats["dropped"] += 1
            return
        payload = {
            "id": record.event_id,
            "object": "event",
            "type": event_type,
            "created_date": self.clock.now().isoformat(),
            "data": data,
        }
        body = json.dumps(profile.to_api(payload), separators=(",", ":")).encode()
        held = _Held(record, target, body)
        if not target.shuffle:
            self._tasks.start(self._deliver(held))
            return
        self._held.append(held)
        if len(self._held) >= self.config.shuffle_batch:
            self.flush()
        elif self._flush_timer is None:
            wait = self._real_seconds(self.config.shuffle_window_seconds)
            self._flush_timer = asyncio.get_running_loop().call_later(wait, self.flush)

    def flush(self) -> int:
        """Sends the held events in a seeded random order; returns how many."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        batch, self._held = self._held, []
        self._rng.shuffle(batch)
        for held in batch:
            self._tasks.start(self._deliver(held))
        return len(batch)

    def _real_seconds(self, sandbox_seconds: float) -> float:
        speed = self.clock.speed
        return sandbox_seconds / speed if speed > 0 else sandbox_seconds

    async def _deliver(self, held: _Held) -> None:
        delays = self.config.retry_delays_seconds
        for attempt in range(len(delays) + 1):
            if attempt:
                await asyncio.sleep(self._real_seconds(delays[attempt - 1]))
            if await self._attempt(held):
                held.record.outcome = "delivered"
                self.stats["delivered"] += 1
                if held.target.duplicate_rate > 0 and (
                    self._rng.random() < held.target.duplicate_rate
                ):
                    self.stats["duplicated"] += 1
                    await self._attempt(held)
                return
        held.record.outcome = "failed"
        self.stats["failed"] += 1

    async def _attempt(self, held: _Held) -> bool:
        target, record = held.target, held.record
        if self.client is None or target.url is None:
            return False
        headers = {"Content-Type": "application/json"}
        if target.secret is not None:
            digest = signature(target.secret.get_secret_value(), held.body)
            headers[target.signature_header] = target.signature_prefix + digest
        record.attempts += 1
        self.stats["attempts"] += 1
        try:
            response = await self.client.post(
                target.url, content=held.body, headers=headers, timeout=self.config.timeout_seconds
            )
        except httpx.HTTPError:
            return False
        if response.is_success:
            record.sent.append(self.clock.time())
        return response.is_success

    async def drain(self) -> None:
        """Sends what is held and waits for every delivery under way, retries included."""
        self.flush()
        await self._tasks.drain()

    async def cancel(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        await self._tasks.cancel()
