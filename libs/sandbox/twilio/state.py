"""All per-run state of the Twilio Messages simulator and the rules of sending.

Creating a message checks what Twilio checks before it queues one (To present and E.164,
a usable sender, a body within 1,600 characters, the recipient not unsubscribed, the
region enabled) and answers the first failure with its error code; nothing is stored on an
error. An accepted message gets its plan on the sandbox clock: ``sent`` after
``sent_after_seconds``, then ``delivered`` or ``undelivered`` after
``final_after_seconds`` (``failed`` comes instead of ``sent``). Carrier outcomes come from
the To number (``carrier_outcomes``) or, for a ``failure_rate`` share, from a seeded draw.
A background ticker applies due transitions and hands each to the callback sender; every
request applies them too, so a read never shows a status the clock has passed.
Concurrency: each API call holds one of its account's slots while it runs
(``api_latency_seconds`` long); a call that finds them all taken gets 20429.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import re
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from sandbox.clock import SandboxClock
from sandbox.faults import FaultInjector
from sandbox.twilio.accounts import Account, authenticate
from sandbox.twilio.callbacks import Callback, CallbackSender, callback_params
from sandbox.twilio.config import TwilioConfig
from sandbox.twilio.errors import CARRIER_ERRORS, TwilioApiError
from sandbox.twilio.messages import Message, Transition
from sandbox.twilio.segments import count_segments

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
MAX_BODY = 1600
IDLE_POLL_SECONDS = 0.05
"""Real seconds between looks at the clock while transitions wait (it can be advanced)."""
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})


@dataclass
class TwilioStats:
    created: int = 0
    refused: Counter[int] = field(default_factory=Counter)
    throttled: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "created": self.created,
            "refused": {str(k): v for k, v in self.refused.items()},
            "throttled": self.throttled,
            "final_statuses": dict(self.statuses),
        }


@dataclass(frozen=True)
class SendRequest:
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None


class TwilioState:
    def __init__(
        self,
        config: TwilioConfig,
        clock: SandboxClock,
        *,
        callback_client: httpx.AsyncClient | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config
        self.clock = clock
        self.faults = FaultInjector(seed=seed, clock=clock)
        self.accounts: dict[str, Account] = {s.sid: Account.from_seed(s) for s in config.accounts}
        self.callbacks = CallbackSender(config.callbacks, client=callback_client, seed=seed)
        self.to_errors = dict(config.to_errors)
        self.carrier_outcomes = dict(config.carrier_outcomes)
        self.started_at = clock.time()
        """When the accounts and numbers came to be (their resources' `date_created`)."""
        self._seed = seed
        self._ticker: asyncio.Task[None] | None = None
        self.reset()

    def reset(self) -> None:
        """Forget messages, statistics and callbacks; accounts and numbers stay."""
        self.messages: dict[str, Message] = {}
        self.by_account: dict[str, list[Message]] = {sid: [] for sid in self.accounts}
        self.stats = TwilioStats()
        self.callbacks.reset()
        self._due: list[tuple[float, int, str]] = []
        self._sequence = 0
        self._rng = random.Random(self._seed)

    def add_account(self, account: Account) -> None:
        self.accounts[account.sid] = account
        self.by_account.setdefault(account.sid, [])

    # Requests ------------------------------------------------------------------------

    @asynccontextmanager
    async def call(self, account_sid: str, authorization: str | None) -> AsyncIterator[Account]:
        """Authenticate, take a concurrency slot for the call's duration, apply due steps."""
        account = authenticate(self.accounts, account_sid, authorization)
        if account.in_flight >= account.concurrency_limit:
            account.throttled += 1
            self.stats.throttled += 1
            raise TwilioApiError(20429)
        account.in_flight += 1
        account.peak_in_flight = max(account.peak_in_flight, account.in_flight)
        try:
            if self.config.api_latency_seconds:
                await asyncio.sleep(self.config.api_latency_seconds)
            self.apply_due()
            yield account
        finally:
            account.in_flight -= 1

    def create_message(self, account: Account, request: SendRequest) -> Message:
        try:
            sender = self._check(account, request)
        except TwilioApiError as exc:
            self.stats.refused[exc.code] += 1
            raise
        now = self.clock.time()
        self._sequence += 1
        message = Message(
            sid=("SM" + secrets.token_hex(16)),
            sequence=self._sequence,
            account_sid=account.sid,
            to=request.to,
            from_=sender,
            body=request.body,
            messaging_service_sid=request.messaging_service_sid,
            status_callback=request.status_callback,
            num_segments=count_segments(request.body),
            date_created=now,
            date_updated=now,
            status="accepted" if sender is None else "queued",
            plan=self._plan(request.to, now),
        )
        message.history.append(message.status)
        self.messages[message.sid] = message
        self.by_account[account.sid].append(message)
        self.stats.created += 1
        self._schedule(message)
        return message

    def _check(self, account: Account, request: SendRequest) -> str | None:
        """The sender to use (None: the Messaging Service picks it later), or the error."""
        if not request.to:
            raise TwilioApiError(21604)
        if not E164.match(request.to):
            raise TwilioApiError(
                21211, f"The 'To' number {request.to} is not a valid phone number."
            )
        sender = self._sender(account, request)
        if not request.body:
            raise TwilioApiError(21602)
        if len(request.body) > MAX_BODY:
            raise TwilioApiError(21617)
        code = self.to_errors.get(request.to)
        if code is not None:
            raise TwilioApiError(code)
        if not any(request.to.startswith(p) for p in self.config.enabled_regions):
            raise TwilioApiError(
                21408,
                "Permission to send an SMS has not been enabled for the region indicated"
                f" by the 'To' number: {request.to}.",
            )
        return sender

    def _sender(self, account: Account, request: SendRequest) -> str | None:
        if request.messaging_service_sid:
            if request.messaging_service_sid not in account.messaging_services:
                raise TwilioApiError(21701)
            return request.from_ if request.from_ else None
        if not request.from_:
            raise TwilioApiError(21603)
        if not E164.match(request.from_):
            raise TwilioApiError(21212)
        if request.from_ in account.not_sms_capable:
            raise TwilioApiError(21606)
        if request.from_ not in account.numbers:
            raise TwilioApiError(21659)
        return request.from_

    def _plan(self, to: str, now: float) -> list[Transition]:
        code = self.carrier_outcomes.get(to)
        if code is None and self._rng.random() < self.config.failure_rate:
            code = self._rng.choice(sorted(CARRIER_ERRORS))
        sent_at = now + self.config.sent_after_seconds
        final_at = sent_at + self.config.final_after_seconds
        if code is None:
            return [Transition(sent_at, "sent"), Transition(final_at, "delivered")]
        status, wording = CARRIER_ERRORS[code]
        if status == "failed":
            return [Transition(sent_at, "failed", code, wording)]
        return [Transition(sent_at, "sent"), Transition(final_at, status, code, wording)]

    # Lifecycle -----------------------------------------------------------------------

    def _schedule(self, message: Message) -> None:
        if message.plan:
            heapq.heappush(self._due, (message.plan[0].at, message.sequence, message.sid))
            self._ensure_ticker()

    def apply_due(self) -> int:
        """Applies every transition the clock has reached; returns how many."""
        now = self.clock.time()
        applied = 0
        while self._due and self._due[0][0] <= now:
            _, _, sid = heapq.heappop(self._due)
            message = self.messages.get(sid)
            if message is None or not message.plan:
                continue  # forgotten by a reset
            step = message.plan.pop(0)
            pool = self.accounts[message.account_sid].messaging_services.get(
                message.messaging_service_sid or "", []
            )
            message.apply(step, sender=pool[0] if pool else None)
            applied += 1
            if step.status in FINAL_STATUSES:
                self.stats.statuses[step.status] += 1
            self._notify(message, final=step.status in FINAL_STATUSES)
            self._schedule(message)
        return applied

    def _notify(self, message: Message, *, final: bool) -> None:
        if not message.status_callback:
            return
        token = self.accounts[message.account_sid].auth_token
        callback = Callback(message.status_callback, callback_params(message), token)
        self.callbacks.publish(callback, final=final)

    def _ensure_ticker(self) -> None:
        if self._ticker is not None and not self._ticker.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous caller): requests apply the steps instead
        self._ticker = loop.create_task(self._tick())

    async def _tick(self) -> None:
        while self._due:
            self.apply_due()
            if not self._due:
                return
            wait = IDLE_POLL_SECONDS
            speed = self.clock.speed
            if speed > 0:
                wait = min(wait, max(0.0, (self._due[0][0] - self.clock.time()) / speed))
            await asyncio.sleep(wait)

    async def drain(self) -> None:
        """Wait for callbacks under way (tests use it after advancing the clock)."""
        self.apply_due()
        await self.callbacks.drain()

    async def cancel(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        await self.callbacks.cancel()
