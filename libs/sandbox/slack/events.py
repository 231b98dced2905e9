"""Events API delivery: what slack.com does when something happens in the workspace.

Each event is wrapped in an ``event_callback`` envelope (token, team_id, api_app_id,
event, type, event_id, event_time, authorizations), serialised once, and POSTed to the
workspace's events URL signed with Slack's v0 scheme over exactly the bytes sent:
``X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))`` with
``X-Slack-Request-Timestamp``. The receiver must answer 2xx within the ack timeout (3 s).
Otherwise (non-2xx, connection failure, timeout) the same body is sent again, up to
``len(retry_delays_seconds)`` times, with ``X-Slack-Retry-Num`` and
``X-Slack-Retry-Reason``; an answer carrying ``X-Slack-No-Retry: 1`` stops the retries.

The request timestamp is wall-clock time, not the sandbox clock: receivers check it
against their own clock (5 minutes of tolerance), which a fast or shifted sandbox clock
would fail. ``event_time`` and ``event_ts`` follow the sandbox clock like message ``ts``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from sandbox.clock import SandboxClock
from sandbox.config import SlackEventsConfig

MAX_LOG = 10_000


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class DeliveryStats:
    events: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    no_retry: int = 0
    duplicated: int = 0
    skipped_no_url: int = 0
    attempts: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "delivered": self.delivered,
            "retried": self.retried,
            "failed": self.failed,
            "no_retry": self.no_retry,
            "duplicated": self.duplicated,
            "skipped_no_url": self.skipped_no_url,
            "attempts": self.attempts,
            "by_reason": dict(self.by_reason),
            "by_status": dict(self.by_status),
        }


@dataclass(frozen=True)
class Attempt:
    """One POST of an event: which try it was and what came back."""

    event_id: str
    event_type: str
    retry_num: int
    retry_reason: str | None
    status: int | None
    failure: str | None
    no_retry: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "retry_num": self.retry_num,
            "retry_reason": self.retry_reason,
            "status": self.status,
            "failure": self.failure,
            "no_retry": self.no_retry,
        }


@dataclass(frozen=True)
class Outcome:
    """How one event's delivery ended: delivered, failed, no_retry or skipped_no_url."""

    event_id: str
    result: str
    attempts: int

    def as_dict(self) -> dict[str, object]:
        return {"event_id": self.event_id, "result": self.result, "attempts": self.attempts}


class EventDelivery:
    """Delivers envelopes in the background; owns retries, not the HTTP client."""

    def __init__(
        self,
        config: SlackEventsConfig,
        *,
        team_id: str,
        bot_user_id: str,
        clock: SandboxClock,
        client: httpx.AsyncClient | None,
        wall_clock: Callable[[], float] = time.time,
        seed: int = 0,
    ) -> None:
        self.config = config
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.clock = clock
        self.client = client
        self.wall_clock = wall_clock
        self.stats = DeliveryStats()
        self.log: list[Attempt] = []
        self._rng = random.Random(seed)
        self._sequence = 0
        self._tasks: dict[str, asyncio.Task[Outcome]] = {}

    def reset(self) -> None:
        self.stats = DeliveryStats()
        self.log.clear()

    def envelope(self, event: dict[str, object]) -> dict[str, object]:
        self._sequence += 1
        event_id = f"Ev0MLC{self._sequence:07d}"
        return {
            "token": self.config.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.config.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(self.clock.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{event['type']}-{self.team_id}-{self._sequence}",
        }

    def publish(self, event: dict[str, object]) -> dict[str, object]:
        """Wrap and schedule one event; returns the envelope. Call from the event loop."""
        envelope = self.envelope(event)
        event_id = str(envelope["event_id"])
        self.stats.events += 1
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
        task = asyncio.get_running_loop().create_task(
            self._deliver(event_id, str(event["type"]), body)
        )
        self._tasks[event_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(event_id, None))
        return envelope

    async def wait(self, event_id: str) -> Outcome | None:
        """The outcome of an event still under way (None once it is over and forgotten)."""
        task = self._tasks.get(event_id)
        return await asyncio.shield(task) if task is not None else None

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def cancel(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await self.drain()

    def _real_delay(self, sandbox_seconds: float) -> float:
        speed = self.clock.speed
        return sandbox_seconds / speed if speed > 0 else sandbox_seconds

    async def _deliver(self, event_id: str, event_type: str, body: bytes) -> Outcome:
        if not self.config.url:
            self.stats.skipped_no_url += 1
            return Outcome(event_id, "skipped_no_url", 0)
        reason: str | None = None
        delays = list(self.config.retry_delays_seconds)
        for retry_num in range(len(delays) + 1):
            if retry_num:
                await asyncio.sleep(self._real_delay(delays[retry_num - 1]))
                self.stats.retried += 1
            attempt = await self._attempt(event_id, event_type, body, retry_num, reason)
            if attempt.failure is None:
                self.stats.delivered += 1
                await self._maybe_duplicate(event_id, event_type, body)
                return Outcome(event_id, "delivered", retry_num + 1)
            if attempt.no_retry:
                self.stats.no_retry += 1
                return Outcome(event_id, "no_retry", retry_num + 1)
            reason = attempt.failure
        self.stats.failed += 1
        return Outcome(event_id, "failed", len(delays) + 1)

    async def _maybe_duplicate(self, event_id: str, event_type: str, body: bytes) -> None:
        rate = self.config.duplicate_rate
        if rate and self._rng.random() < rate:
            # As if the ack never reached Slack: the same event again, as a first retry.
            self.stats.duplicated += 1
            await self._attempt(event_id, event_type, body, 1, "http_timeout")

    async def _attempt(
        self, event_id: str, event_type: str, body: bytes, retry_num: int, reason: str | None
    ) -> Attempt:
        if self.client is None:
            raise RuntimeError("Events API delivery needs an HTTP client")
        timestamp = str(int(self.wall_clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(
                self.config.signing_secret.get_secret_value(), timestamp, body
            ),
        }
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = reason or "unknown_error"
        status, failure, no_retry = await self._post(str(self.config.url), body, headers)
        self.stats.attempts += 1
        self.stats.by_status[str(status) if status is not None else "error"] += 1
        if failure is not None:
            self.stats.by_reason[failure] += 1
        attempt = Attempt(event_id, event_type, retry_num, reason, status, failure, no_retry)
        if len(self.log) < MAX_LOG:
            self.log.append(attempt)
        return attempt

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None, bool]:
        """(status, failure reason or None, receiver asked for no retry)."""
        assert self.client is not None
        timeout = self.config.ack_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                response = await self.client.post(
                    url, content=body, headers=headers, timeout=timeout, follow_redirects=False
                )
        except (TimeoutError, httpx.TimeoutException):
            return None, "http_timeout", False
        except httpx.ConnectError:
            return None, "connection_failed", False
        except httpx.HTTPError:
            return None, "unknown_error", False
        no_retry = response.headers.get("x-slack-no-retry") == "1"
        if response.is_success:
            return response.status_code, None, False
        if response.is_redirect:
            return response.status_code, "too_many_redirects", no_retry
        return response.status_code, "http_error", no_retry
