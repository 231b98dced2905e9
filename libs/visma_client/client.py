"""A typed async client for the Visma.net ERP API.

It knows Visma's conventions (bearer token, optional `ipp-company-id`, the
`lastModifiedDateTime` change filter, `pageNumber`/`pageSize` paging, X-RateLimit-*
headers, the legacy error body) and turns every failure into a `VismaError` that says
whether a retry can help. Transport-level retries live in `chassis.http.RetryTransport`;
this client only decides what the final response means.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote

import httpx
from pydantic import ValidationError

from chassis.http import parse_retry_after
from chassis.ratelimit import HourlyBudget
from visma_client.auth import TokenProvider
from visma_client.entities import VISMA_ENTITIES, EntitySpec
from visma_client.errors import (
    VismaAuthError,
    VismaContractError,
    VismaCredentialsRefused,
    VismaPreconditionFailed,
    VismaRateLimited,
    VismaRequestRejected,
    VismaServerError,
    VismaUnavailable,
)
from visma_client.models import (
    ModelT,
    Page,
    RejectedRecord,
    SupplierInvoiceDto,
    SupplierInvoicePage,
    VismaRecordDto,
)

__all__ = ["Created", "RateLimitSeen", "VismaClient", "format_visma_datetime", "raw_json"]

logger = logging.getLogger(__name__)

_SUPPLIER_INVOICE = VISMA_ENTITIES["supplierInvoice"]
_CONDITIONS = frozenset({">", "<", ">=", "<="})
# X-RateLimit-Reset above this is an epoch timestamp (legacy VNI), not a delta.
_EPOCH_THRESHOLD = 1_000_000_000


def format_visma_datetime(value: datetime) -> str:
    """`yyyy-MM-ddTHH:mm:ss.fff` in UTC, the filter format Visma accepts."""
    if value.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


@dataclass(frozen=True)
class Created:
    """A record Visma created: its `Location`, the number that ends it, and its ETag."""

    location: str
    number: str
    etag: str | None


@dataclass(frozen=True)
class RateLimitSeen:
    """Visma's X-RateLimit-* headers on its last answer: the company+client's hour."""

    limit: int | None
    remaining: int | None
    reset_seconds: float | None
    policy: str | None


class VismaClient:
    """Visma.net ERP calls over an injected `httpx.AsyncClient` whose base URL is the API."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        tokens: TokenProvider,
        company_id: str | None = None,
        budget: HourlyBudget | None = None,
        send_company_header: bool = True,
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._company_id = company_id
        self._budget = budget
        self._send_company_header = send_company_header
        self.last_server_date: datetime | None = None
        """The server's clock (`Date`) on its last answer: a poll that found nothing has no
        page to carry it, yet its cursor must still be in the server's time."""
        self.last_rate_limit: RateLimitSeen | None = None
        """The rate-limit headers of the last answer that carried them."""

    def __repr__(self) -> str:
        return (
            f"VismaClient(base_url={str(self._http.base_url)!r}, company_id={self._company_id!r})"
        )

    async def iter_entity_pages(
        self,
        entity: EntitySpec,
        *,
        modified_since: datetime,
        condition: str = ">=",
        page_size: int = 100,
        first_page: int = 1,
    ) -> AsyncIterator[Page[VismaRecordDto]]:
        """Records of `entity` changed since `modified_since`, one page at a time.

        `first_page` > 1 resumes an interrupted read with the same filter.
        """
        async for page in self._iter_pages(
            entity.path,
            entity.model,
            modified_since=modified_since,
            condition=condition,
            page_size=page_size,
            first_page=first_page,
        ):
            yield page

    async def get_entity(
        self, entity: EntitySpec, entity_id: str
    ) -> tuple[VismaRecordDto, str | None]:
        """One record, named by its canonical `entity_id`, and its ETag (for If-Match)."""
        response = await self._request("GET", entity.item_path(entity_id))
        dto = _parse(entity.model, _json(response))
        return dto, response.headers.get("etag")

    async def get_entity_at(self, model: type[ModelT], path: str) -> tuple[ModelT, str | None]:
        """One record at `path`, parsed as `model`, and its ETag header (for If-Match)."""
        response = await self._request("GET", path)
        return _parse(model, _json(response)), response.headers.get("etag")

    async def iter_supplier_invoice_pages(
        self,
        *,
        modified_since: datetime,
        condition: str = ">=",
        page_size: int = 100,
        first_page: int = 1,
    ) -> AsyncIterator[SupplierInvoicePage]:
        """Supplier invoices changed since `modified_since`, one page at a time.

        `first_page` > 1 resumes an interrupted read with the same filter.
        """
        async for page in self._iter_pages(
            _SUPPLIER_INVOICE.path,
            SupplierInvoiceDto,
            modified_since=modified_since,
            condition=condition,
            page_size=page_size,
            first_page=first_page,
        ):
            yield page

    async def get_supplier_invoice(
        self, invoice_number: str
    ) -> tuple[SupplierInvoiceDto, str | None]:
        """One supplier invoice and its ETag (for a later If-Match write)."""
        response = await self._request(
            "GET", f"{_SUPPLIER_INVOICE.path}/{quote(invoice_number, safe='')}"
        )
        dto = _parse(SupplierInvoiceDto, _json(response))
        return dto, response.headers.get("etag")

    async def _iter_pages(
        self,
        path: str,
        model: type[ModelT],
        *,
        modified_since: datetime,
        condition: str,
        page_size: int,
        first_page: int = 1,
    ) -> AsyncIterator[Page[ModelT]]:
        """The change filter's pages (see `iter_filtered_pages`)."""
        if condition not in _CONDITIONS:
            raise ValueError(f"condition must be one of {sorted(_CONDITIONS)}")
        since = {
            "lastModifiedDateTime": format_visma_datetime(modified_since),
            "lastModifiedDateTimeCondition": condition,
        }
        async for page in self.iter_filtered_pages(
            path, model, filters=since, page_size=page_size, first_page=first_page
        ):
            yield page

    async def iter_filtered_pages(
        self,
        path: str,
        model: type[ModelT],
        *,
        filters: Mapping[str, str],
        page_size: int = 100,
        first_page: int = 1,
    ) -> AsyncIterator[Page[ModelT]]:
        """Generic paging shared by every Visma list endpoint, with the query `filters`.

        Stops on an empty page or once `metadata.totalCount` items are read. A short page
        is not the end: Visma silently clamps `pageSize` to its `maxPageSize`. A read that
        starts at `first_page` counts the pages before it as full pages of the clamped size.
        An item that does not match `model` is handed back in `Page.rejected`, raw, with
        the reason; only a body that is not a list fails the whole page.
        """
        if page_size < 1:
            raise ValueError("page_size must be positive")
        base_params = {**filters, "pageSize": str(page_size)}
        if first_page < 1:
            raise ValueError("first_page must be positive")
        read = 0
        page_number = first_page
        while True:
            params = {**base_params, "pageNumber": str(page_number)}
            response = await self._request("GET", path, params=params)
            body = _json(response)
            if not isinstance(body, list):
                raise VismaContractError(f"Visma list {path} did not return a JSON array")
            if not body:
                return
            items, sources, rejected = _parse_items(model, body)
            total = _total_count(body)
            if read == 0 and page_number > 1:
                read = (page_number - 1) * _effective_page_size(body, page_size)
            read += len(body)
            yield Page(
                items=items,
                page_number=page_number,
                total_count=total,
                server_date=_server_date(response),
                sources=tuple(sources),
                rejected=tuple(rejected),
            )
            if total is not None and read >= total:
                return
            page_number += 1

    async def create(self, path: str, *, body: Mapping[str, Any]) -> Created:
        """A POST that creates a record: where Visma put it (`Location`) and its ETag.

        Never repeated by the transport (a create is not idempotent): after a lost answer,
        the caller looks the record up before it creates again.
        """
        response = await self._request("POST", path, body=body)
        location = response.headers.get("location")
        if response.status_code != 201 or not location:
            raise VismaContractError(
                f"Visma answered {response.status_code} without Location to POST {path}"
            )
        number = unquote(httpx.URL(location).path.rstrip("/").rpartition("/")[2])
        return Created(location=location, number=number, etag=response.headers.get("etag"))

    async def write(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        if_match: str | None = None,
    ) -> str | None:
        """A POST or PUT (an action, an update); returns the ETag Visma answered with, if any.

        `if_match` is sent as `If-Match`; a stale one raises `VismaPreconditionFailed`.
        """
        headers = {"If-Match": if_match} if if_match is not None else None
        response = await self._request(method, path, body=body, headers=headers)
        etag: str | None = response.headers.get("etag")
        return etag

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        token = await self._tokens.token()
        response = await self._send(
            method, path, token=token, params=params, body=body, headers=headers
        )
        if response.status_code == 401:
            logger.info("visma refused the token; renewing once", extra={"path": path})
            self._tokens.invalidate(token)
            token = await self._tokens.token()
            response = await self._send(
                method, path, token=token, params=params, body=body, headers=headers
            )
            if response.status_code == 401:
                raise VismaCredentialsRefused(_describe(response, "token refused twice"))
        self._observe_rate_limit(response)
        self.last_server_date = _server_date(response) or self.last_server_date
        _raise_for_status(response)
        return response

    async def _send(
        self,
        method: str,
        path: str,
        *,
        token: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        if self._budget is not None:
            await self._budget.acquire()
        sent = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if self._company_id is not None and self._send_company_header:
            sent["ipp-company-id"] = self._company_id
        sent |= headers or {}
        try:
            return await self._http.request(method, path, params=params, headers=sent, json=body)
        except httpx.TransportError as exc:
            raise VismaUnavailable(f"Visma unreachable on {method} {path}: {exc!r}") from exc

    def _observe_rate_limit(self, response: httpx.Response) -> None:
        limit = _int_header(response, "x-ratelimit-limit")
        remaining = _int_header(response, "x-ratelimit-remaining")
        reset = _int_header(response, "x-ratelimit-reset")
        reset_seconds = None if reset is None else float(reset)
        if reset_seconds is not None and reset_seconds > _EPOCH_THRESHOLD:
            reset_seconds = max(0.0, reset_seconds - time.time())
        if response.status_code == 429:
            remaining = 0
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            reset_seconds = retry_after if retry_after is not None else reset_seconds
        if limit is None and remaining is None:
            return
        self.last_rate_limit = RateLimitSeen(
            limit=limit,
            remaining=remaining,
            reset_seconds=reset_seconds,
            policy=response.headers.get("x-ratelimit-policy"),
        )
        if self._budget is None:
            return
        self._budget.observe(limit=limit, remaining=remaining, reset_seconds=reset_seconds)


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise VismaRateLimited(_describe(response, "rate limited"), retry_after=retry_after)
    if status == 503:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise VismaUnavailable(_describe(response, "unavailable"), retry_after=retry_after)
    if status >= 500:
        raise VismaServerError(_describe(response, "server error"))
    if status == 412:
        raise VismaPreconditionFailed(_describe(response, "ETag is stale"))
    if status == 403:
        raise VismaAuthError(_describe(response, "forbidden"))
    raise VismaRequestRejected(_describe(response, "request rejected"), status_code=status)


def _describe(response: httpx.Response, what: str) -> str:
    """A one-line message carrying Visma's own explanation (legacy IPPException body)."""
    request = response.request
    prefix = f"Visma {response.status_code} {what} on {request.method} {request.url.path}"
    detail = response.text[:500]
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = [
            str(body[key])
            for key in ("ExceptionMessage", "ExceptionFaultCode", "ExceptionMessageID", "message")
            if body.get(key)
        ]
        detail = "; ".join(parts) or detail
    return f"{prefix}: {detail}" if detail else prefix


def _json(response: httpx.Response) -> Any:
    # parse_float=Decimal keeps 1234.10 exactly; float would not.
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise VismaServerError(f"Visma sent invalid JSON for {response.request.url.path}") from exc


def _parse(model: type[ModelT], data: Any) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise VismaContractError(f"Visma payload does not match {model.__name__}: {exc}") from exc


def _parse_items(
    model: type[ModelT], body: list[Any]
) -> tuple[list[ModelT], list[Any], list[RejectedRecord]]:
    """The items that match `model` (with the JSON each came from) and those that do not."""
    items: list[ModelT] = []
    sources: list[Any] = []
    rejected: list[RejectedRecord] = []
    for item in body:
        try:
            items.append(_parse(model, item))
        except VismaContractError as exc:
            rejected.append(RejectedRecord(raw=raw_json(item), reason=str(exc)))
            continue
        sources.append(item)
    return items, sources, rejected


def raw_json(item: Any) -> str:
    """`item` (parsed with Decimal numbers) back as JSON text with its numbers digit for digit."""

    def mark(value: object) -> str:
        if isinstance(value, Decimal):
            return f"\x00decimal:{value}"  # a NUL no real string starts with
        raise TypeError(f"{type(value).__name__} is not JSON")

    text = json.dumps(item, default=mark, ensure_ascii=False, separators=(",", ":"))
    return re.sub(r'"\\u0000decimal:([^"]*)"', r"\1", text)


def _metadata(body: list[Any]) -> dict[str, Any]:
    first = body[0] if body else None
    metadata = first.get("metadata") if isinstance(first, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def _total_count(body: list[Any]) -> int | None:
    total = _metadata(body).get("totalCount")
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _effective_page_size(body: list[Any], requested: int) -> int:
    max_page = _metadata(body).get("maxPageSize")
    if isinstance(max_page, int) and not isinstance(max_page, bool) and max_page > 0:
        return min(requested, max_page)
    return requested


def _server_date(response: httpx.Response) -> datetime | None:
    value = response.headers.get("date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
