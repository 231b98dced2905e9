"""VismaClient and TokenProvider against a MockTransport that behaves like Visma."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from chassis.errors import PermanentError, RetryableError, SystemUnavailable
from chassis.http import RetryTransport
from chassis.ratelimit import HourlyBudget
from visma_client import (
    SupplierInvoiceDto,
    TokenProvider,
    VismaAuthError,
    VismaClient,
    VismaCredentials,
    VismaCredentialsRefused,
    VismaEndpoints,
    VismaPreconditionFailed,
    VismaRateLimited,
    VismaRequestRejected,
    VismaServerError,
    VismaUnavailable,
)

pytestmark = pytest.mark.unit

SECRET = "s3cr3t-client-secret"
TOKEN_URL = "https://connect.test/connect/token"
API = "https://api.test"


def invoice(ref: str, *, total: int | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "documentType": "Invoice",
        "referenceNumber": ref,
        "status": "Open",
        "lastModifiedDateTime": "2026-01-15T10:20:30.123",
        **extra,
    }
    if total is not None:
        body["metadata"] = {"totalCount": total, "maxPageSize": 2}
    return body


class FakeVisma:
    """Token endpoint plus /v1/supplierInvoice with paging, as a MockTransport handler."""

    def __init__(self, invoices: list[dict[str, Any]] | None = None, *, max_page: int = 100):
        self.invoices = invoices or []
        self.max_page = max_page
        self.token_requests: list[dict[str, str]] = []
        self.api_requests: list[httpx.Request] = []
        self.issued = 0
        self.expires_in = 3600
        self.reject_tokens: set[str] = set()
        self.rate_headers: dict[str, str] = {}
        self.scripted: list[httpx.Response] = []
        self.send_total = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            self.token_requests.append(dict(httpx.QueryParams(request.content.decode())))
            self.issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"tok-{self.issued}",
                    "expires_in": self.expires_in,
                    "token_type": "Bearer",
                },
            )
        self.api_requests.append(request)
        token = request.headers["authorization"].removeprefix("Bearer ")
        if token in self.reject_tokens:
            return httpx.Response(401, json={"message": "Unauthorized"})
        if self.scripted:
            return self.scripted.pop(0)
        headers = {"Date": "Sun, 01 Mar 2026 12:00:00 GMT", **self.rate_headers}
        path = request.url.path
        if path == "/v1/supplierInvoice":
            size = min(int(request.url.params["pageSize"]), self.max_page)
            number = int(request.url.params["pageNumber"])
            chunk = self.invoices[(number - 1) * size : number * size]
            total = len(self.invoices) if self.send_total else None
            body = [{**i, "metadata": {"totalCount": total, "maxPageSize": 2}} for i in chunk]
            return httpx.Response(200, json=body, headers=headers)
        if path.startswith("/v1/supplierInvoice/"):
            ref = path.rsplit("/", 1)[1]
            for item in self.invoices:
                if item["referenceNumber"] == ref:
                    return httpx.Response(200, json=item, headers={**headers, "ETag": '"abc"'})
            return httpx.Response(
                404, json={"ExceptionType": "IPPException", "ExceptionMessage": "not found"}
            )
        return httpx.Response(404)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def credentials() -> VismaCredentials:
    return VismaCredentials(client_id="cid", client_secret=SecretStr(SECRET), tenant_id="tnt")


def make(
    fake: FakeVisma,
    *,
    clock: Clock | None = None,
    budget: HourlyBudget | None = None,
    company_id: str | None = "1234567",
    send_company_header: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[VismaClient, TokenProvider]:
    mock = transport or httpx.MockTransport(fake)
    http = httpx.AsyncClient(base_url=API, transport=mock)
    tokens = TokenProvider(
        http, credentials=credentials(), token_url=TOKEN_URL, clock=clock or Clock()
    )
    client = VismaClient(
        http,
        tokens=tokens,
        company_id=company_id,
        budget=budget,
        send_company_header=send_company_header,
    )
    return client, tokens


async def collect(client: VismaClient, **kwargs: Any) -> list[Any]:
    since = kwargs.pop("modified_since", datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    return [p async for p in client.iter_supplier_invoice_pages(modified_since=since, **kwargs)]


# --- tokens ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_token_request_is_client_credentials_form() -> None:
    fake = FakeVisma([invoice("1")])
    client, _ = make(fake)
    await client.get_supplier_invoice("1")
    assert fake.token_requests == [
        {
            "grant_type": "client_credentials",
            "client_id": "cid",
            "client_secret": SECRET,
            "tenant_id": "tnt",
            "scope": "vismanet_erp_service_api:read vismanet_erp_service_api:update",
        }
    ]
    assert fake.api_requests[0].headers["authorization"] == "Bearer tok-1"


@pytest.mark.anyio
async def test_token_cached_for_80_percent_of_its_lifetime() -> None:
    fake = FakeVisma([invoice("1")])
    clock = Clock()
    client, _ = make(fake, clock=clock)
    await client.get_supplier_invoice("1")
    clock.now = 2879.0
    await client.get_supplier_invoice("1")
    assert fake.issued == 1
    clock.now = 2880.0
    await client.get_supplier_invoice("1")
    assert fake.issued == 2
    assert fake.api_requests[-1].headers["authorization"] == "Bearer tok-2"


@pytest.mark.anyio
async def test_a_short_lived_token_is_reused_not_fetched_before_every_call() -> None:
    # A 60-second token: a fixed 60 s margin would fetch one before every call.
    fake = FakeVisma([invoice("1")])
    fake.expires_in = 60
    clock = Clock()
    client, _ = make(fake, clock=clock)
    for second in range(0, 48, 4):
        clock.now = float(second)
        await client.get_supplier_invoice("1")
    assert fake.issued == 1, "12 calls within 80% of the lifetime share one token"
    clock.now = 48.0
    await client.get_supplier_invoice("1")
    assert fake.issued == 2
    clock.now = 95.0
    await client.get_supplier_invoice("1")
    assert fake.issued == 2, "the second token lives until 48 + 48 s"
    clock.now = 96.0
    await client.get_supplier_invoice("1")
    assert fake.issued == 3


@pytest.mark.anyio
async def test_concurrent_callers_share_one_refresh() -> None:
    fake = FakeVisma()
    _, tokens = make(fake)
    got = await asyncio.gather(*(tokens.token() for _ in range(5)))
    assert set(got) == {"tok-1"}
    assert fake.issued == 1


@pytest.mark.anyio
async def test_401_renews_token_and_retries_once() -> None:
    fake = FakeVisma([invoice("1")])
    fake.reject_tokens = {"tok-1"}
    client, _ = make(fake)
    dto, _ = await client.get_supplier_invoice("1")
    assert dto.reference_number == "1"
    assert [r.headers["authorization"] for r in fake.api_requests] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]


@pytest.mark.anyio
async def test_401_twice_is_auth_error() -> None:
    fake = FakeVisma([invoice("1")])
    fake.reject_tokens = {"tok-1", "tok-2"}
    client, _ = make(fake)
    with pytest.raises(VismaCredentialsRefused) as info:
        await client.get_supplier_invoice("1")
    assert isinstance(info.value, PermanentError)
    assert len(fake.api_requests) == 2


@pytest.mark.anyio
async def test_token_endpoint_refusal_is_auth_error_without_secret() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_client"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    tokens = TokenProvider(http, credentials=credentials(), token_url=TOKEN_URL)
    with pytest.raises(VismaCredentialsRefused) as info:
        await tokens.token()
    assert isinstance(info.value, VismaAuthError)
    assert "invalid_client" in str(info.value)
    assert SECRET not in str(info.value)


# --- headers and paging ----------------------------------------------------------------


@pytest.mark.anyio
async def test_company_header_sent_only_when_asked() -> None:
    fake = FakeVisma([invoice("1")])
    client, _ = make(fake)
    await client.get_supplier_invoice("1")
    assert fake.api_requests[-1].headers["ipp-company-id"] == "1234567"

    client, _ = make(fake, send_company_header=False)
    await client.get_supplier_invoice("1")
    assert "ipp-company-id" not in fake.api_requests[-1].headers

    client, _ = make(fake, company_id=None)
    await client.get_supplier_invoice("1")
    assert "ipp-company-id" not in fake.api_requests[-1].headers


@pytest.mark.anyio
async def test_paging_sends_filter_and_stops_at_total_count() -> None:
    fake = FakeVisma([invoice(str(n)) for n in range(1, 4)])
    client, _ = make(fake)
    pages = await collect(client, page_size=2)
    assert [[i.reference_number for i in p.items] for p in pages] == [["1", "2"], ["3"]]
    assert [p.page_number for p in pages] == [1, 2]
    assert pages[0].total_count == 3
    assert len(fake.api_requests) == 2  # no third request: totalCount was reached
    params = [dict(r.url.params) for r in fake.api_requests]
    assert params[0] == {
        "lastModifiedDateTime": "2026-01-02T03:04:05.678",
        "lastModifiedDateTimeCondition": ">=",
        "pageSize": "2",
        "pageNumber": "1",
    }
    assert params[1]["pageNumber"] == "2"
    assert "lastModifiedDateTimeCondition=%3E%3D" in str(fake.api_requests[0].url)


@pytest.mark.anyio
async def test_paging_converts_modified_since_to_utc_and_rejects_naive() -> None:
    from datetime import timedelta, timezone

    fake = FakeVisma([])
    client, _ = make(fake)
    oslo = timezone(timedelta(hours=1))
    await collect(client, modified_since=datetime(2026, 1, 2, 4, 0, tzinfo=oslo), condition=">")
    params = fake.api_requests[0].url.params
    assert params["lastModifiedDateTime"] == "2026-01-02T03:00:00.000"
    assert params["lastModifiedDateTimeCondition"] == ">"
    with pytest.raises(ValueError, match="timezone"):
        await collect(client, modified_since=datetime(2026, 1, 2))


@pytest.mark.anyio
async def test_clamped_short_pages_do_not_end_paging() -> None:
    fake = FakeVisma([invoice(str(n)) for n in range(1, 6)], max_page=2)
    client, _ = make(fake)
    pages = await collect(client, page_size=100)
    assert sum(len(p.items) for p in pages) == 5
    assert len(fake.api_requests) == 3


@pytest.mark.anyio
async def test_paging_without_total_stops_on_empty_page() -> None:
    fake = FakeVisma([invoice(str(n)) for n in range(1, 4)])
    fake.send_total = False
    client, _ = make(fake)
    pages = await collect(client, page_size=2)
    assert sum(len(p.items) for p in pages) == 3
    assert len(fake.api_requests) == 3


@pytest.mark.anyio
async def test_page_carries_server_date() -> None:
    fake = FakeVisma([invoice("1")])
    client, _ = make(fake)
    (page,) = await collect(client)
    assert page.server_date == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# --- models ----------------------------------------------------------------------------

RAW_INVOICE = """{
  "documentType": "Invoice", "referenceNumber": "000123", "status": "Balanced",
  "approvalStatus": "Pending", "supplier": {"internalId": 7, "number": "10001", "name": "ACME"},
  "date": "2026-01-15T00:00:00", "dueDate": "2026-02-14T00:00:00", "currencyId": "NOK",
  "amount": 1234.10, "vatAmount": 246.82, "balance": 0.30, "supplierReference": "INV-9",
  "description": "Parts", "timeStamp": "AAAAAAB1",
  "invoiceLines": [
    {"lineNumber": 1, "quantity": 3, "unitCostInCurrency": 329.10, "amount": 987.30,
     "accountNumber": "4000", "poNumber": ""},
    {"lineNumber": 2, "quantity": 1, "amount": 246.80, "poNumber": " PO-77 "}
  ],
  "lastModifiedDateTime": "2026-01-15T10:20:30.123", "createdDateTime": "2026-01-14T08:00:00",
  "metadata": {"totalCount": 1, "maxPageSize": 100}, "somethingNew": true
}"""


@pytest.mark.anyio
async def test_amounts_stay_exact_decimals_through_the_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, content=RAW_INVOICE.encode(), headers={"ETag": '"e1"'})

    client, _ = make(FakeVisma(), transport=httpx.MockTransport(handler))
    dto, etag = await client.get_supplier_invoice("000123")
    assert etag == '"e1"'
    assert dto.amount == Decimal("1234.10")
    assert str(dto.amount) == "1234.10"
    assert str(dto.balance) == "0.30"
    assert str(dto.invoice_lines[0].unit_cost_in_currency) == "329.10"
    assert dto.supplier is not None
    assert dto.supplier.name == "ACME"
    assert dto.po_reference == "PO-77"


def test_model_parses_naive_timestamps_as_utc_and_dates() -> None:
    dto = SupplierInvoiceDto.model_validate(json.loads(RAW_INVOICE))
    assert dto.last_modified_date_time == datetime(2026, 1, 15, 10, 20, 30, 123000, tzinfo=UTC)
    assert dto.created_date_time is not None
    assert dto.created_date_time.tzinfo is UTC
    assert str(dto.date) == "2026-01-15"
    assert dto.metadata is not None
    assert dto.metadata.total_count == 1
    # Even if a float slips through, the BeforeValidator keeps the decimal digits.
    assert (
        str(SupplierInvoiceDto.model_validate({"referenceNumber": "x", "amount": 1234.1}).amount)
        == "1234.1"
    )


def test_po_reference_none_when_no_line_names_one() -> None:
    dto = SupplierInvoiceDto.model_validate({"referenceNumber": "1", "invoiceLines": [{}]})
    assert dto.po_reference is None


# --- rate limits and errors ------------------------------------------------------------


class FakeSleep:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sleeps: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.now += seconds


@pytest.mark.anyio
async def test_rate_limit_headers_feed_the_budget_and_it_waits() -> None:
    fake = FakeVisma([invoice("1")])
    fake.rate_headers = {
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "120",
    }
    clock = Clock()
    sleep = FakeSleep(clock)
    budget = HourlyBudget(500, 3600.0, clock=clock, sleep=sleep)
    client, _ = make(fake, budget=budget)
    await client.get_supplier_invoice("1")
    assert budget.snapshot().remaining == 0
    assert sleep.sleeps == []
    await client.get_supplier_invoice("1")
    assert sleep.sleeps == [120.0]


@pytest.mark.anyio
async def test_budget_is_spent_per_api_call() -> None:
    fake = FakeVisma([invoice(str(n)) for n in range(1, 4)])
    budget = HourlyBudget(500, 3600.0, clock=Clock())
    client, _ = make(fake, budget=budget)
    await collect(client, page_size=1)
    assert budget.snapshot().remaining == 497


@pytest.mark.anyio
async def test_429_is_retried_by_the_transport_with_retry_after() -> None:
    fake = FakeVisma([invoice("1")])
    fake.scripted = [httpx.Response(429, headers={"Retry-After": "9"})]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    transport = RetryTransport(httpx.MockTransport(fake), sleep=sleep)
    client, _ = make(fake, transport=transport)
    dto, _ = await client.get_supplier_invoice("1")
    assert dto.reference_number == "1"
    assert slept == [9.0]


@pytest.mark.parametrize(
    ("response", "error", "retryable", "outage"),
    [
        (httpx.Response(429, headers={"Retry-After": "30"}), VismaRateLimited, True, True),
        (httpx.Response(503, text="busy"), VismaUnavailable, True, True),
        (httpx.Response(503, headers={"Retry-After": "30"}), VismaUnavailable, True, True),
        (httpx.Response(500), VismaServerError, True, False),
        (httpx.Response(502), VismaServerError, True, False),
        (httpx.Response(504), VismaServerError, True, False),
        (
            httpx.Response(412, json={"ExceptionMessage": "etag"}),
            VismaPreconditionFailed,
            True,
            False,
        ),
        (
            httpx.Response(
                400,
                json={"ExceptionType": "IPPException", "ExceptionMessage": "Bad date format"},
            ),
            VismaRequestRejected,
            False,
            False,
        ),
        (httpx.Response(403), VismaAuthError, False, False),
    ],
)
@pytest.mark.anyio
async def test_error_statuses_are_classified(
    response: httpx.Response, error: type[Exception], retryable: bool, outage: bool
) -> None:
    fake = FakeVisma([invoice("1")])
    fake.scripted = [response]
    client, _ = make(fake)
    with pytest.raises(error) as info:
        await client.get_supplier_invoice("1")
    assert isinstance(info.value, RetryableError) is retryable
    assert isinstance(info.value, PermanentError) is not retryable
    # Only a 429 or a 503 is an outage the runner waits out without spending the budget;
    # a 500 on every try is retried within the budget, then dead-lettered.
    assert isinstance(info.value, SystemUnavailable) is outage
    if "retry-after" in response.headers:
        assert info.value.retry_after == 30.0
    if isinstance(info.value, VismaRequestRejected):
        assert info.value.status_code == 400
        assert "Bad date format" in str(info.value)
    # A 403 is about one route, not the credentials: it must not hold the whole company.
    assert not isinstance(info.value, VismaCredentialsRefused)


@pytest.mark.anyio
async def test_404_carries_visma_exception_message() -> None:
    client, _ = make(FakeVisma([]))
    with pytest.raises(VismaRequestRejected, match="not found") as info:
        await client.get_supplier_invoice("nope")
    assert info.value.status_code == 404


@pytest.mark.anyio
async def test_network_failure_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        raise httpx.ConnectError("refused")

    client, _ = make(FakeVisma(), transport=httpx.MockTransport(handler))
    with pytest.raises(VismaUnavailable):
        await client.get_supplier_invoice("1")


# --- secrets ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_secrets_never_in_repr_or_str() -> None:
    fake = FakeVisma([invoice("1")])
    client, tokens = make(fake)
    await client.get_supplier_invoice("1")
    creds = credentials()
    for obj in (creds, tokens, client, creds.client_secret):
        assert SECRET not in repr(obj)
        assert SECRET not in str(obj)
        assert "tok-1" not in repr(obj)
    assert SECRET not in creds.model_dump_json()


def test_sandbox_endpoints() -> None:
    assert VismaEndpoints().api_base == "https://api.finance.visma.net"
    sandbox = VismaEndpoints.sandbox()
    assert sandbox.token_url == "http://127.0.0.1:18080/visma/connect/token"
    assert sandbox.api_base == "http://127.0.0.1:18080/visma"
