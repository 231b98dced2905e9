"""A typed async client for BILL's v3 API: one organization, one session, at most 3 calls.

BILL counts logins (200 an hour), calls (20,000 an hour per devKey) and calls in flight
(3 per devKey and organization), and answers past them with ``BDC_1144`` or ``BDC_1322``.
So the client keeps one session per organization (`SessionKeeper`), holds its own calls
to `max_in_flight` (3) with a semaphore, and on a limit answer waits (BILL's Retry-After
when it sends one, else exponential backoff with jitter) and repeats a bounded number of
times before it raises `BillRateLimited`. Limit answers and invalid-session answers are
refusals: BILL did nothing, so repeating any call, a POST included, is safe.

Lists (`vendors`, `bills`) filter on ``updatedTime:gte:"…"``, read 100 records a page and
follow ``nextPage`` to the end. Webhook subscriptions live on the connect-events host.
Secrets (password, devKey, sessionId, securityKey) never appear in a log, an error or a
model: they travel only in the request that needs them.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from bill_client.errors import (
    BillAuthError,
    BillKeyWithheld,
    BillUnavailable,
    BillUnreadable,
    ErrorAnswer,
    error_for,
    read_error,
)
from bill_client.models import BillBill, BillCredentials, BillSubscription, BillVendor
from bill_client.session import SessionKeeper
from chassis.http import Sleep, build_async_client

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_EVENTS_BASE_URL", "BillClient", "LimitRetry"]

DEFAULT_BASE_URL = "https://gateway.stage.bill.com/connect/v3"
DEFAULT_EVENTS_BASE_URL = "https://gateway.stage.bill.com/connect-events/v3"
PAGE_SIZE = 100
MAX_IN_FLIGHT = 3

_RecordT = TypeVar("_RecordT", BillVendor, BillBill)
Send = Callable[[], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class _Request:
    """A call as sent, repeatable after a limit or a new session."""

    method: str
    url: str
    params: dict[str, str | int] | None
    json: Any
    headers: dict[str, str]


class LimitRetry(BaseModel):
    """How long the client waits out BILL's limits before it gives up on a call."""

    max_attempts: int = 6
    base_delay_seconds: float = 1.0
    max_wait_seconds: float = 120.0
    """A Retry-After longer than this is not waited out: the caller gets the error."""


class BillClient:
    """One BILL organization through one session, on an owned `httpx.AsyncClient`."""

    def __init__(
        self,
        credentials: BillCredentials,
        *,
        base_url: str = DEFAULT_BASE_URL,
        events_base_url: str = DEFAULT_EVENTS_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        limit_retry: LimitRetry | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        timeout: float = 30.0,
    ) -> None:
        self._credentials = credentials
        self._base = base_url.rstrip("/")
        self._events = events_base_url.rstrip("/")
        self._http = build_async_client("", transport=transport, retry=None, timeout=timeout)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._retry = limit_retry or LimitRetry()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._session = SessionKeeper(self._log_in, clock=clock)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def organization_id(self) -> str:
        return self._credentials.organization_id

    @property
    def logins_made(self) -> int:
        """Logins this client made (each one counts against BILL's 200 an hour)."""
        return self._session.logins_made

    # -- vendors and bills -------------------------------------------------------------

    def vendors(self, *, updated_since: datetime) -> AsyncIterator[BillVendor]:
        """Every vendor changed at or after `updated_since`, across all pages."""
        return self._list("vendors", BillVendor, updated_since)

    def bills(self, *, updated_since: datetime) -> AsyncIterator[BillBill]:
        """Every bill changed at or after `updated_since`, across all pages."""
        return self._list("bills", BillBill, updated_since)

    async def vendor(self, vendor_id: str) -> BillVendor:
        answer = await self._call("GET", f"{self._base}/vendors/{vendor_id}")
        return _record(BillVendor, _json(answer))

    async def bill(self, bill_id: str) -> BillBill:
        return _record(BillBill, _json(await self._call("GET", f"{self._base}/bills/{bill_id}")))

    async def _list(
        self, collection: str, model: type[_RecordT], updated_since: datetime
    ) -> AsyncIterator[_RecordT]:
        params: dict[str, str | int] = {
            "max": PAGE_SIZE,
            "filters": f'updatedTime:gte:"{bill_time(updated_since)}"',
        }
        tokens: set[str] = set()
        while True:
            answer = await self._call("GET", f"{self._base}/{collection}", params=params)
            page = _json(answer)
            results, token = page.get("results"), page.get("nextPage")
            if not isinstance(results, list) or not isinstance(token, str | None):
                raise BillUnreadable(f"BILL's {collection} page has no results list")
            for record in results:
                yield _record(model, record)
            if not token:
                return
            if token in tokens:
                raise BillUnreadable(f"BILL repeated a {collection} page token")
            tokens.add(token)
            params = {"max": PAGE_SIZE, "page": token}

    # -- webhook subscriptions ---------------------------------------------------------

    async def create_subscription(
        self, *, name: str, url: str, events: Sequence[str], idempotency_key: str
    ) -> tuple[BillSubscription, SecretStr]:
        """Subscribes `url` to `events`; returns the subscription and its securityKey,
        which BILL shows this once. Repeating `idempotency_key` never makes a second
        subscription; if BILL answers an earlier one without its key, `BillKeyWithheld`."""
        body = {
            "name": name,
            "status": {"enabled": True},
            "events": [{"type": event, "version": "1"} for event in events],
            "notificationUrl": url,
        }
        answer = await self._call(
            "POST",
            f"{self._events}/subscriptions",
            json=body,
            headers={"X-Idempotent-Key": idempotency_key},
        )
        raw = _json(answer)
        key = raw.pop("securityKey", None)
        subscription = _subscription(raw)
        if not isinstance(key, str) or not key:
            raise BillKeyWithheld(
                f"BILL answered subscription {subscription.id} without its securityKey "
                "(shown once, to an earlier call)",
                subscription_id=subscription.id,
            )
        return subscription, SecretStr(key)

    async def subscription(self, subscription_id: str) -> BillSubscription:
        url = f"{self._events}/subscriptions/{subscription_id}"
        return _subscription(_json(await self._call("GET", url)))

    async def subscriptions(self) -> list[BillSubscription]:
        answer = await self._call("GET", f"{self._events}/subscriptions")
        try:
            raw = answer.json()
        except ValueError as exc:
            raise BillUnreadable("BILL's subscription list is not JSON") from exc
        if not isinstance(raw, list):
            raise BillUnreadable("BILL's subscription list is not a list")
        return [_subscription(item) for item in raw]

    async def enable_subscription(self, subscription_id: str) -> BillSubscription:
        """Enables a subscription BILL disabled (a PUT of the whole subscription)."""
        url = f"{self._events}/subscriptions/{subscription_id}"
        current = _json(await self._call("GET", url))
        body = {
            "name": current.get("name"),
            "status": {"enabled": True},
            "events": current.get("events"),
            "notificationUrl": current.get("notificationUrl"),
        }
        return _subscription(_json(await self._call("PUT", url, json=body)))

    async def rotate_security_key(self, subscription_id: str) -> SecretStr:
        """A new securityKey for the subscription (shown this once); the old one stops
        signing BILL's deliveries now."""
        url = f"{self._events}/subscriptions/{subscription_id}/security-key"
        key = _json(await self._call("POST", url)).get("securityKey")
        if not isinstance(key, str) or not key:
            raise BillUnreadable(f"BILL rotated subscription {subscription_id} without a key")
        return SecretStr(key)

    async def delete_subscription(self, subscription_id: str) -> None:
        await self._call("DELETE", f"{self._events}/subscriptions/{subscription_id}")

    # -- requests ----------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str | int] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One authenticated call: the shared session, renewed once if BILL refuses it."""
        request = _Request(method, url, params=params, json=json, headers=headers or {})
        session_id = await self._session.current()
        response = await self._authenticated(request, session_id)
        answer = read_error(response)
        if answer is not None and answer.session_invalid:
            await self._session.renew(session_id)
            response = await self._authenticated(request, await self._session.current())
            answer = read_error(response)
        if answer is None:
            return response
        if answer.session_invalid:
            raise BillAuthError(
                "BILL refused a session it had just opened", code=answer.code, status=answer.status
            )
        raise error_for(answer)

    async def _authenticated(self, request: _Request, session_id: str) -> httpx.Response:
        headers = {
            **request.headers,
            "devKey": self._credentials.dev_key.get_secret_value(),
            "sessionId": session_id,
        }
        signed = replace(request, headers=headers)
        return await self._within_limits(lambda: self._send(signed))

    async def _log_in(self) -> str:
        credentials = self._credentials
        login = _Request(
            "POST",
            f"{self._base}/login",
            params=None,
            json={
                "username": credentials.username,
                "password": credentials.password.get_secret_value(),
                "organizationId": credentials.organization_id,
                "devKey": credentials.dev_key.get_secret_value(),
            },
            headers={},
        )
        response = await self._within_limits(lambda: self._send(login))
        answer = read_error(response)
        if answer is not None:
            raise error_for(answer)
        session_id = _json(response).get("sessionId")
        if not isinstance(session_id, str) or not session_id:
            raise BillUnreadable("BILL's login answer has no sessionId")
        return session_id

    async def _within_limits(self, send: Send) -> httpx.Response:
        """`send`, repeated while BILL answers one of its limits, within `LimitRetry`."""
        attempt = 1
        while True:
            response = await send()
            answer = read_error(response)
            if answer is None or not answer.rate_limited:
                return response
            wait = self._wait_for(answer, attempt)
            if wait is None:
                raise error_for(answer)
            await self._sleep(wait)
            attempt += 1

    def _wait_for(self, answer: ErrorAnswer, attempt: int) -> float | None:
        if attempt >= self._retry.max_attempts:
            return None
        if answer.retry_after is not None:
            return None if answer.retry_after > self._retry.max_wait_seconds else answer.retry_after
        ceiling = min(self._retry.max_wait_seconds, self._retry.base_delay_seconds * 2**attempt)
        return self._rng.uniform(ceiling / 2, ceiling)

    async def _send(self, request: _Request) -> httpx.Response:
        async with self._slots:
            try:
                return await self._http.request(
                    request.method,
                    request.url,
                    params=request.params,
                    json=request.json,
                    headers=request.headers,
                )
            except httpx.TransportError as exc:
                raise BillUnavailable(f"BILL did not answer: {type(exc).__name__}") from exc


def bill_time(moment: datetime) -> str:
    """BILL's filter format, in UTC with milliseconds: ``2026-03-02T10:00:00.000Z``."""
    if moment.tzinfo is None:
        raise ValueError("a BILL filter time must carry its time zone")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise BillUnreadable(f"BILL's answer ({response.status_code}) is not JSON") from exc
    if not isinstance(body, dict):
        raise BillUnreadable(f"BILL's answer ({response.status_code}) is not an object")
    return body


def _record(model: type[_RecordT], raw: object) -> _RecordT:
    if not isinstance(raw, dict):
        raise BillUnreadable(f"a BILL {model.__name__} that is not an object")
    try:
        return model.read(raw)
    except ValidationError as exc:
        raise BillUnreadable(
            f"unreadable BILL {model.__name__}: {exc.error_count()} errors"
        ) from exc


def _subscription(raw: dict[str, Any]) -> BillSubscription:
    raw = {k: v for k, v in raw.items() if k != "securityKey"}
    status, events = raw.get("status"), raw.get("events")
    raw["enabled"] = isinstance(status, dict) and status.get("enabled") is True
    if isinstance(events, list):
        raw["events"] = [e.get("type") if isinstance(e, dict) else e for e in events]
    try:
        return BillSubscription.model_validate(raw)
    except ValidationError as exc:
        raise BillUnreadable(f"unreadable BILL subscription: {exc.error_count()} errors") from exc
