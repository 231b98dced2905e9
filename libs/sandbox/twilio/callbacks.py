"""Status callbacks: what Twilio POSTs to a message's StatusCallback URL, and how it signs it.

Each status change after the first (Twilio sends none for ``queued``/``accepted``) is a
form-encoded POST of ``MessageSid``, ``MessageStatus``, ``SmsSid``, ``SmsStatus``,
``AccountSid``, ``From``, ``To``, ``ApiVersion`` (``MessagingServiceSid`` when one was
used, ``ErrorCode``/``ErrorMessage`` when it failed), signed as Twilio's webhook security
page describes: ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, URL + every
parameter name followed by its value, sorted by name)). Twilio does not retry a status
callback that fails, so ``once`` is one POST whatever the answer; ``at_least_once`` POSTs
a share of them twice with the same ``I-Twilio-Idempotency-Token``; ``out_of_order``
holds a share of the ``sent`` callbacks back until the message's final one went out.
Delivery runs in background tasks, so a request handler never waits for a receiver; one
message's callbacks go out one after the other in the order of its statuses (unless
``out_of_order`` says otherwise), and at most ``max_concurrent`` POSTs are open at once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from sandbox.twilio.config import CallbackDelivery
from sandbox.twilio.messages import API_VERSION, Message

MAX_LOG = 50_000
USER_AGENT = "TwilioProxy/1.1"


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def callback_params(message: Message) -> dict[str, str]:
    params = {
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "MessageStatus": message.status,
        "SmsStatus": message.status,
        "AccountSid": message.account_sid,
        "From": message.from_ or "",
        "To": message.to,
        "ApiVersion": API_VERSION,
    }
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = message.messaging_service_sid
    if message.error_code is not None and message.status in {"failed", "undelivered"}:
        params["ErrorCode"] = str(message.error_code)
        params["ErrorMessage"] = message.error_message or ""
    return params


@dataclass(frozen=True)
class Callback:
    """One status callback ready to POST (the same object on a duplicate)."""

    url: str
    params: dict[str, str]
    auth_token: str
    idempotency_token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def sid(self) -> str:
        return self.params["MessageSid"]

    @property
    def status(self) -> str:
        return self.params["MessageStatus"]


@dataclass(frozen=True)
class CallbackAttempt:
    sid: str
    status: str
    duplicate: bool
    http_status: int | None
    failure: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "sid": self.sid,
            "status": self.status,
            "duplicate": self.duplicate,
            "http_status": self.http_status,
            "failure": self.failure,
        }


@dataclass
class CallbackStats:
    scheduled: int = 0
    attempts: int = 0
    duplicated: int = 0
    reordered: int = 0
    by_status: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "scheduled": self.scheduled,
            "attempts": self.attempts,
            "duplicated": self.duplicated,
            "reordered": self.reordered,
            "by_http_status": dict(self.by_status),
        }


class CallbackSender:
    """Posts callbacks in background tasks; owns none of the HTTP client's lifetime."""

    def __init__(
        self, settings: CallbackDelivery, *, client: httpx.AsyncClient | None, seed: int = 0
    ) -> None:
        self.settings = settings
        self.client = client
        self.stats = CallbackStats()
        self.log: list[CallbackAttempt] = []
        self._rng = random.Random(seed)
        self._held: dict[str, Callback] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._latest: dict[str, asyncio.Task[None]] = {}
        """Each message's newest delivery task: the next one waits for it (per-message order)."""
        self._open = asyncio.Semaphore(settings.max_concurrent)

    def reset(self) -> None:
        self.stats = CallbackStats()
        self.log.clear()
        self._held.clear()

    def publish(self, callback: Callback, *, final: bool) -> None:
        """Schedule one callback; a held-back ``sent`` goes out right after the final one."""
        self.stats.scheduled += 1
        mode = self.settings.mode
        if (
            mode == "out_of_order"
            and callback.status == "sent"
            and self._rng.random() < self.settings.reorder_rate
        ):
            self._held[callback.sid] = callback
            self.stats.reordered += 1
            return
        batch = [callback]
        if final and callback.sid in self._held:
            batch.append(self._held.pop(callback.sid))
        duplicate = mode == "at_least_once" and self._rng.random() < self.settings.duplicate_rate
        self._spawn(batch, duplicate=duplicate)

    def _spawn(self, batch: list[Callback], *, duplicate: bool) -> None:
        sid = batch[0].sid
        after = self._latest.get(sid)
        task = asyncio.get_running_loop().create_task(
            self._deliver(batch, duplicate=duplicate, after=after)
        )
        self._tasks.add(task)
        self._latest[sid] = task
        task.add_done_callback(lambda done: self._forget(sid, done))

    def _forget(self, sid: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._latest.get(sid) is task:
            del self._latest[sid]

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.drain()

    async def _deliver(
        self, batch: list[Callback], *, duplicate: bool, after: asyncio.Task[None] | None
    ) -> None:
        if after is not None:
            await asyncio.gather(after, return_exceptions=True)
        for callback in batch:  # in order: a reordered batch is final first, then sent
            await self._post(callback, duplicate=False)
            if duplicate:
                self.stats.duplicated += 1
                await self._post(callback, duplicate=True)

    async def _post(self, callback: Callback, *, duplicate: bool) -> None:
        if self.client is None:
            raise RuntimeError("status callbacks need an HTTP client")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
            "X-Twilio-Signature": signature(callback.auth_token, callback.url, callback.params),
            "I-Twilio-Idempotency-Token": callback.idempotency_token,
        }
        status: int | None = None
        failure: str | None = None
        timeout = self.settings.timeout_seconds
        try:
            async with self._open:
                response = await self.client.post(
                    callback.url, data=callback.params, headers=headers, timeout=timeout
                )
            status = response.status_code
        except httpx.TimeoutException:
            failure = "timeout"
        except httpx.HTTPError as exc:
            failure = type(exc).__name__
        self.stats.attempts += 1
        self.stats.by_status[str(status) if status is not None else "error"] += 1
        if len(self.log) < MAX_LOG:
            self.log.append(
                CallbackAttempt(callback.sid, callback.status, duplicate, status, failure)
            )
