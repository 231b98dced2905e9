"""A typed async client for Airbase's accounting API, in one profile's dialect.

Every call sends ``Authorization: <scheme> <token>`` (``Token`` by default, per the open
connectors; ``Bearer`` where the profile says so) and goes through the chassis'
`RetryTransport`: a 429 waits Airbase's ``Retry-After`` (up to `max_wait_seconds`, else the
caller gets `AirbaseRateLimited` with the wait), a 503, a 500/502/504 and a timeout back off
exponentially with jitter, a bounded number of times, then raise (`AirbaseUnavailable`,
`AirbaseServerError`). A 5xx or a timeout on a read or a PATCH (which sets values) is
repeated as is; a create is not: a POST that may have been acted on is followed by a look-up
by its ERP reference before it is sent again, so an upsert never makes a record twice.

Lists read ``?page=1,2,...`` until a page's ``data`` is empty and never trust
``pagination.next`` (recorded null on a full page). The last ``X-Ratelimit-*`` headers are
kept in `rate_limit` for callers that pace themselves. The token is registered with the log
redactor and appears in no log, error or repr.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping
from typing import Any, Self, overload

import httpx
from pydantic import SecretStr, ValidationError
from pydantic_core import to_jsonable_python

from airbase_client.answers import error_for, rate_limit_of, read_object, read_page
from airbase_client.errors import (
    AirbaseAlreadySynced,
    AirbaseAmbiguousReference,
    AirbaseError,
    AirbaseServerError,
    AirbaseUnavailable,
    AirbaseUnreadable,
    AirbaseValidationError,
)
from airbase_client.models import AirbaseLedgerEntry, AirbaseRecord, RateLimit
from airbase_client.profile import AirbaseProfile
from airbase_client.resources import LEDGER_ENTRIES, RecordT, Resource, resource_named
from chassis.http import CONNECTION_LIMITS, SAFE_TO_REPEAT, RetryPolicy, RetryTransport, Sleep
from chassis.jsonlog import REDACTOR

__all__ = ["DEFAULT_API_BASE", "DEFAULT_RETRY", "SANDBOX_API_BASE", "AirbaseClient"]

DEFAULT_API_BASE = "https://api.airbase.io"
SANDBOX_API_BASE = "https://api-stage.airbase.io"
PAGE_SIZE = 100
MAX_PAGES = 10_000
"""A list stops with `AirbaseUnreadable` past this many pages (a server ignoring ?page=)."""

DEFAULT_RETRY = RetryPolicy(
    max_attempts=5,
    base_delay_seconds=0.5,
    max_wait_seconds=120.0,
    retry_statuses=frozenset({429, 503}),
    retry_server_errors=True,
    retry_transport_errors=True,
)
"""DRF's throttle says how long to wait (``Expected available in 12 seconds.``); an hourly
budget spent answers a wait too long to sleep here, which the caller's runner holds for."""

Filter = str | int | bool | None
_REFUSED_BEFORE_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class AirbaseClient:
    """One Airbase account (one token) over an owned `httpx.AsyncClient`."""

    def __init__(
        self,
        api_base: str,
        token: SecretStr,
        profile: AirbaseProfile | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        page_size: int | None = PAGE_SIZE,
    ) -> None:
        self._api_base = api_base.rstrip("/")
        self._profile = profile or AirbaseProfile()
        self._retry = retry
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._page_size = page_size
        inner = transport or httpx.AsyncHTTPTransport(limits=CONNECTION_LIMITS)
        self._http = httpx.AsyncClient(
            base_url=self._api_base,
            transport=RetryTransport(inner, policy=retry, sleep=sleep, rng=self._rng),
            timeout=timeout,
        )
        self._authorization = ""
        self.use_token(token)
        self.rate_limit = RateLimit()
        """The last ``X-Ratelimit-Limit`` / ``-Remaining`` Airbase sent (None until then)."""

    def __repr__(self) -> str:
        return f"AirbaseClient({self._api_base!r}, auth_scheme={self._profile.auth_scheme!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def profile(self) -> AirbaseProfile:
        return self._profile

    def use_token(self, token: SecretStr) -> None:
        """Calls with `token` from now on (a token replaced in the vault)."""
        REDACTOR.register(token)
        self._authorization = f"{self._profile.auth_scheme} {token.get_secret_value()}"

    # -- records -----------------------------------------------------------------------

    @overload
    def list(self, resource: Resource[RecordT], **filters: Filter) -> AsyncIterator[RecordT]: ...
    @overload
    def list(self, resource: str, **filters: Filter) -> AsyncIterator[AirbaseRecord]: ...
    def list(self, resource: Resource[Any] | str, **filters: Filter) -> AsyncIterator[Any]:
        """Every record of `resource` matching `filters` (``erp_reference_id=``, ``status=``;
        None leaves a filter out), across all pages."""
        return self._pages(_resource(resource), filters)

    @overload
    async def get(self, resource: Resource[RecordT], airbase_id: str) -> RecordT: ...
    @overload
    async def get(self, resource: str, airbase_id: str) -> AirbaseRecord: ...
    async def get(self, resource: Resource[Any] | str, airbase_id: str) -> Any:
        """One record by its airbase_id; `AirbaseNotFound` if there is none."""
        kind = _resource(resource)
        response = await self._send("GET", self._profile.item_path(kind.name, airbase_id))
        return _record(kind, read_object(response, profile=self._profile))

    @overload
    async def find_by_erp_reference(
        self, resource: Resource[RecordT], erp_reference_id: str
    ) -> RecordT | None: ...
    @overload
    async def find_by_erp_reference(
        self, resource: str, erp_reference_id: str
    ) -> AirbaseRecord | None: ...
    async def find_by_erp_reference(
        self, resource: Resource[Any] | str, erp_reference_id: str
    ) -> Any:
        """The record holding `erp_reference_id`, or None; `AirbaseAmbiguousReference` if two
        do. Matches are checked here too, so a server ignoring the filter finds no stranger."""
        kind = _resource(resource)
        found = [
            record
            async for record in self._pages(kind, {"erp_reference_id": erp_reference_id})
            if record.erp_reference_id == erp_reference_id
        ]
        if len(found) > 1:
            ids = ", ".join(record.airbase_id for record in found)
            raise AirbaseAmbiguousReference(
                f"Airbase {kind.name} {ids} all hold erp_reference_id {erp_reference_id!r}"
            )
        return found[0] if found else None

    @overload
    async def create(self, resource: Resource[RecordT], body: Mapping[str, Any]) -> RecordT: ...
    @overload
    async def create(self, resource: str, body: Mapping[str, Any]) -> AirbaseRecord: ...
    async def create(self, resource: Resource[Any] | str, body: Mapping[str, Any]) -> Any:
        """POSTs a new record (`body` in our names; Decimal amounts go as strings). After a
        failure that may have created it (a 5xx, a timeout), a body with an
        ``erp_reference_id`` is looked up by it and the record found is returned; only if
        none is found is it sent again, within the retry policy's attempts."""
        kind = _resource(resource)
        payload = self._profile.to_api(to_jsonable_python(dict(body)))
        found = body.get("erp_reference_id")
        reference = found if isinstance(found, str) and found else None
        attempt = 1
        while True:
            try:
                response = await self._send("POST", self._profile.path(kind.name), json=payload)
            except AirbaseError as failure:
                if not _worth_posting_again(failure, reference, attempt, self._retry):
                    raise
                await self._sleep(self._retry.backoff(attempt, self._rng))
                attempt += 1
                if reference is not None and not failure.refused:
                    existing = await self.find_by_erp_reference(kind, reference)
                    if existing is not None:
                        return existing
                continue
            return _record(kind, read_object(response, profile=self._profile))

    @overload
    async def update(
        self, resource: Resource[RecordT], airbase_id: str, changes: Mapping[str, Any]
    ) -> RecordT: ...
    @overload
    async def update(
        self, resource: str, airbase_id: str, changes: Mapping[str, Any]
    ) -> AirbaseRecord: ...
    async def update(
        self, resource: Resource[Any] | str, airbase_id: str, changes: Mapping[str, Any]
    ) -> Any:
        """PATCHes the fields in `changes` (our names) and returns the record as it is now.
        Setting values is idempotent, so a PATCH is repeated after a 5xx or a timeout."""
        kind = _resource(resource)
        response = await self._send(
            "PATCH",
            self._profile.item_path(kind.name, airbase_id),
            json=self._profile.to_api(to_jsonable_python(dict(changes))),
            repeatable=True,
        )
        return _record(kind, read_object(response, profile=self._profile))

    # -- ledger entries ----------------------------------------------------------------

    def ledger_entries(
        self, status: str | None = "sync_ready"
    ) -> AsyncIterator[AirbaseLedgerEntry]:
        """Entries in `status` (Airbase's default list holds only ``sync_ready`` ones). An
        entry marked synced leaves that list at once and shifts later pages: read all pages
        before marking any."""
        return self._pages(LEDGER_ENTRIES, {"status": status})

    async def mark_synced(self, entry_id: str, erp_reference_id: str) -> AirbaseLedgerEntry:
        """Marks the entry synced as `erp_reference_id` (the Visma payment number). Again with
        the same reference is a success; with another, `AirbaseAlreadySynced`."""
        try:
            return await self.update(
                LEDGER_ENTRIES,
                entry_id,
                {"status": "synced", "erp_reference_id": erp_reference_id},
            )
        except AirbaseValidationError as refusal:
            if "erp_reference_id" not in refusal.field_errors:
                raise
            raise AirbaseAlreadySynced(
                f"ledger entry {entry_id}: {refusal}",
                status=refusal.status,
                detail=refusal.detail,
                field_errors=refusal.field_errors,
            ) from refusal

    # -- requests ----------------------------------------------------------------------

    async def _pages(
        self, kind: Resource[RecordT], filters: Mapping[str, Filter]
    ) -> AsyncIterator[RecordT]:
        params: dict[str, str | int] = {
            self._profile.api_name(name): _query_value(value)
            for name, value in filters.items()
            if value is not None
        }
        if self._page_size is not None:
            params["page_size"] = self._page_size
        previous: list[Any] | None = None
        for page in range(1, MAX_PAGES + 1):
            response = await self._send(
                "GET", self._profile.path(kind.name), params={**params, "page": page}
            )
            rows = read_page(response, profile=self._profile)
            if not rows:
                return
            ids = [row.get("airbase_id") for row in rows]
            if ids == previous:
                raise AirbaseUnreadable(f"Airbase answered {kind.name} page {page} as the last")
            previous = ids
            for row in rows:
                yield _record(kind, row)
        raise AirbaseUnreadable(f"Airbase's {kind.name} list runs past {MAX_PAGES} pages")

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        repeatable: bool = False,
    ) -> httpx.Response:
        """One call (with the transport's retries); the answer if 2xx, else its error."""
        extensions = {SAFE_TO_REPEAT: True} if repeatable else None
        try:
            response = await self._http.request(
                method,
                path,
                params=params,
                json=json,
                headers={"Authorization": self._authorization},
                extensions=extensions,
            )
        except _REFUSED_BEFORE_SENT as exc:
            raise AirbaseUnavailable(f"Airbase did not answer: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise AirbaseServerError(
                f"Airbase did not answer in full: {type(exc).__name__}"
            ) from exc
        seen = rate_limit_of(response)
        if seen is not None:
            self.rate_limit = seen
        if response.is_success:
            return response
        raise error_for(response, profile=self._profile)


def _worth_posting_again(
    failure: AirbaseError, reference: str | None, attempt: int, policy: RetryPolicy
) -> bool:
    """A create is sent again (by the client, not the transport, which never repeats a POST)
    after a 5xx or a timeout, which leave open whether it was made, and after a connection
    that never opened; a 429 or 503 the transport already waited out is not repeated again.
    Only a body with an ERP reference can be looked up first."""
    if reference is None or attempt >= policy.max_attempts:
        return False
    never_sent = isinstance(failure, AirbaseUnavailable) and failure.status is None
    return isinstance(failure, AirbaseServerError) or never_sent


def _resource(resource: Resource[Any] | str) -> Resource[Any]:
    return resource if isinstance(resource, Resource) else resource_named(resource)


def _record(kind: Resource[RecordT], raw: dict[str, Any]) -> RecordT:
    try:
        return kind.model.read(raw)
    except ValidationError as exc:
        where = ", ".join(".".join(str(p) for p in error["loc"]) for error in exc.errors()[:3])
        raise AirbaseUnreadable(f"unreadable Airbase {kind.name} record: {where}") from exc


def _query_value(value: str | int | bool) -> str | int:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
