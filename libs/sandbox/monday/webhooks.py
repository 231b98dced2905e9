"""Board webhooks as monday sends them: a challenge at registration, then signed events.

Registering (``create_webhook`` or the admin route) POSTs ``{"challenge": …}`` to the URL,
which must answer the same JSON or nothing is registered. An event is POSTed as
``{"event": {…}}`` with ``Authorization: <JWT>`` signed (HS256) with the app's signing
secret, ``aud`` the webhook URL; a failed delivery is retried every minute for 30 minutes
of sandbox time. The JWT's ``iat``/``exp`` are wall-clock time, not the sandbox's: the
receiver checks them against its own clock. ``drop`` loses every event on purpose, so the
reconciliation that catches missed webhooks can be tested.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from sandbox.background import BackgroundTasks
from sandbox.clock import SandboxClock
from sandbox.monday.config import MondayConfig
from sandbox.monday.errors import MondayApplicationError

COLUMN_EVENTS = {
    "change_column_value",
    "change_status_column_value",
    "change_specific_column_value",
}


@dataclass(frozen=True)
class Webhook:
    id: str
    board_id: str
    url: str
    event: str
    config: dict[str, Any] | None

    def wants(self, event: str, column_id: str | None, column_type: str | None) -> bool:
        if event == "create_item":
            return self.event == "create_item"
        if self.event == "change_column_value":
            return True
        if self.event == "change_status_column_value":
            return column_type == "status"
        if self.event == "change_specific_column_value":
            return (self.config or {}).get("columnId") == column_id
        return False

    def as_dict(self) -> dict[str, Any]:
        config = None if self.config is None else json.dumps(self.config)
        return {"id": self.id, "board_id": self.board_id, "event": self.event, "config": config}


class MondayWebhooks:
    def __init__(
        self,
        config: MondayConfig,
        clock: SandboxClock,
        *,
        client: httpx.AsyncClient | None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        self.client = client
        self.wall_clock = wall_clock
        self.hooks: list[Webhook] = []
        self.drop = False
        self.stats: Counter[str] = Counter()
        self._ids = itertools.count(500_000_001)
        self._tasks = BackgroundTasks()

    def _client(self) -> httpx.AsyncClient:
        if self.client is None:
            raise MondayApplicationError("webhooks need an HTTP client", code="InternalServerError")
        return self.client

    async def register(
        self, board_id: str, url: str, event: str, config: dict[str, Any] | None
    ) -> Webhook:
        challenge = secrets.token_urlsafe(24)
        try:
            answer = await self._client().post(
                url, json={"challenge": challenge}, timeout=self.config.webhook_timeout_seconds
            )
            verified = answer.is_success and answer.json() == {"challenge": challenge}
        except (httpx.HTTPError, ValueError):
            verified = False
        if not verified:
            raise MondayApplicationError(
                "Webhook failed to verify: the URL did not return the challenge",
                code="WebhookChallengeFailed",  # monday's exact code is UNCONFIRMED
                url=url,
            )
        hook = Webhook(str(next(self._ids)), board_id, url, event, config)
        self.hooks.append(hook)
        return hook

    def publish(
        self,
        board_id: str,
        event: dict[str, Any],
        *,
        column_id: str | None = None,
        column_type: str | None = None,
    ) -> None:
        """One delivery per matching webhook; call from the event loop."""
        kind = "create_item" if event["type"] == "create_pulse" else "change_column_value"
        for hook in self.hooks:
            if hook.board_id != board_id or not hook.wants(kind, column_id, column_type):
                continue
            if self.drop:
                self.stats["dropped"] += 1
                continue
            body = {
                "event": {
                    **event,
                    "subscriptionId": int(hook.id),
                    "triggerUuid": uuid.uuid4().hex,
                    "triggerTime": self.clock.now().isoformat(),
                }
            }
            self._tasks.start(self._deliver(hook, body))

    def sign(self, audience: str) -> str | None:
        secret = self.config.webhook_signing_secret
        if secret is None:
            return None
        issued = int(self.wall_clock())
        claims = {
            "accountId": self.config.account_id,
            "userId": 1,
            "aud": audience,
            "iat": issued,
            "exp": issued + self.config.webhook_jwt_ttl_seconds,
            "shortLivedToken": secrets.token_urlsafe(16),
        }
        return jwt.encode(claims, secret.get_secret_value(), algorithm="HS256")

    def _real_seconds(self, sandbox_seconds: float) -> float:
        speed = self.clock.speed
        return sandbox_seconds / speed if speed > 0 else sandbox_seconds

    async def _deliver(self, hook: Webhook, body: dict[str, Any]) -> None:
        interval = self.config.webhook_retry_interval_seconds
        retries = int(self.config.webhook_retry_window_seconds // interval)
        for attempt in range(retries + 1):
            if attempt:
                await asyncio.sleep(self._real_seconds(interval))
            self.stats["attempts"] += 1
            if await self._attempt(hook, body):
                self.stats["delivered"] += 1
                return
        self.stats["failed"] += 1

    async def _attempt(self, hook: Webhook, body: dict[str, Any]) -> bool:
        headers = {"Content-Type": "application/json"}
        token = self.sign(hook.url)  # a fresh JWT per attempt, as each has its own exp
        if token is not None:
            headers["Authorization"] = token
        try:
            response = await self._client().post(
                hook.url, json=body, headers=headers, timeout=self.config.webhook_timeout_seconds
            )
        except httpx.HTTPError:
            return False
        return response.is_success

    async def drain(self) -> None:
        """Wait for every delivery under way, retries included (tests and shutdown)."""
        await self._tasks.drain()

    async def cancel(self) -> None:
        await self._tasks.cancel()
