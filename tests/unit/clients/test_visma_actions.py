"""SupplierInvoiceActions on the wire: routes, If-Match, the ETag, 412 and what is repeated."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from chassis.errors import PermanentError, RetryableError
from chassis.http import RetryPolicy, RetryTransport
from visma_client import (
    SupplierInvoiceActions,
    TokenProvider,
    VismaActionUnknown,
    VismaClient,
    VismaCredentials,
    VismaPreconditionFailed,
    VismaRequestRejected,
    VismaServerError,
)

pytestmark = pytest.mark.unit

TOKEN_URL = "https://connect.test/connect/token"
API = "https://api.test"
INVOICE = {
    "documentType": "Invoice",
    "referenceNumber": "000123",
    "status": "Balanced",
    "approvalStatus": "Pending",
    "note": "seen",
    "timeStamp": "7001",
}

Answer = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """Token endpoint plus whatever `answer` says for API calls, every API call kept."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        self.requests.append(request)
        return self.answer(request)


async def _no_wait(_: float) -> None:
    return None


def actions(answer: Answer, *, retry: bool = False) -> tuple[SupplierInvoiceActions, Recorder]:
    recorder = Recorder(answer)
    transport: httpx.AsyncBaseTransport = httpx.MockTransport(recorder)
    if retry:
        policy = RetryPolicy(max_attempts=3, retry_server_errors=True)
        transport = RetryTransport(transport, policy=policy, sleep=_no_wait)
    http = httpx.AsyncClient(base_url=API, transport=transport)
    credentials = VismaCredentials(client_id="cid", client_secret=SecretStr("s"), tenant_id="t1")
    tokens = TokenProvider(http, credentials=credentials, token_url=TOKEN_URL)
    return SupplierInvoiceActions(VismaClient(http, tokens=tokens, company_id="c1")), recorder


def done(etag: str = '"7002"') -> Answer:
    return lambda _: httpx.Response(200, json={"actionResult": "Done"}, headers={"ETag": etag})


@pytest.mark.anyio
async def test_read_returns_the_invoice_and_the_bare_etag_of_its_header() -> None:
    client, recorder = actions(
        lambda _: httpx.Response(200, json=INVOICE, headers={"ETag": 'W/"7009"'})
    )
    version = await client.read("Invoice:000123")
    assert recorder.requests[0].url.path == "/v1/supplierInvoice/Invoice/000123"
    assert (version.etag, version.invoice.status, version.invoice.note) == (
        "7009",
        "Balanced",
        "seen",
    )


@pytest.mark.anyio
async def test_read_falls_back_to_the_dto_timestamp_without_an_etag_header() -> None:
    client, _ = actions(lambda _: httpx.Response(200, json=INVOICE))
    assert (await client.read("Invoice:000123")).etag == "7001"


@pytest.mark.anyio
async def test_an_action_posts_to_the_document_route_with_if_match_and_returns_the_new_etag() -> (
    None
):
    client, recorder = actions(done())
    new = await client.apply("Invoice:000123", "release", etag="7001")
    request = recorder.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/v1/supplierInvoice/Invoice/000123/action/release"
    assert request.headers["if-match"] == '"7001"'
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["ipp-company-id"] == "c1"
    assert new == "7002"


@pytest.mark.anyio
async def test_correct_uses_the_invoice_number_route_and_only_for_standard_invoices() -> None:
    client, recorder = actions(done())
    await client.apply("Invoice:000123", "correct", etag="7001")
    assert recorder.requests[0].url.path == "/v1/supplierInvoice/000123/action/correct"
    with pytest.raises(VismaActionUnknown):
        await client.apply("CreditNote:000124", "correct", etag="7001")
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_a_note_is_a_put_of_the_wrapped_note_with_if_match() -> None:
    client, recorder = actions(lambda _: httpx.Response(204, headers={"ETag": '"7002"'}))
    assert await client.apply("Invoice:000123", "note", etag="7001", comment="Rejected") == "7002"
    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("PUT", "/v1/supplierInvoice/Invoice/000123")
    assert request.headers["if-match"] == '"7001"'
    assert json.loads(request.content) == {"note": {"value": "Rejected"}}


@pytest.mark.anyio
async def test_a_stale_etag_raises_precondition_failed_which_is_retryable() -> None:
    client, _ = actions(lambda _: httpx.Response(412, json={"ExceptionMessage": "ETag"}))
    with pytest.raises(VismaPreconditionFailed) as caught:
        await client.apply("Invoice:000123", "release", etag="7001")
    assert isinstance(caught.value, RetryableError)


@pytest.mark.anyio
async def test_an_unknown_action_is_permanent_and_sends_nothing() -> None:
    client, recorder = actions(done())
    with pytest.raises(VismaActionUnknown) as caught:
        await client.apply("Invoice:000123", "approve", etag="7001")
    assert isinstance(caught.value, PermanentError)
    assert recorder.requests == []


@pytest.mark.anyio
async def test_a_refused_action_is_rejected_with_vismas_message() -> None:
    client, _ = actions(
        lambda _: httpx.Response(400, json={"ExceptionMessage": "not available in status Open"})
    )
    with pytest.raises(VismaRequestRejected, match="not available in status Open"):
        await client.apply("Invoice:000123", "release", etag="7001")


@pytest.mark.anyio
async def test_an_action_post_is_never_repeated_by_the_transport_but_a_note_put_is() -> None:
    client, recorder = actions(lambda _: httpx.Response(500), retry=True)
    with pytest.raises(VismaServerError):
        await client.apply("Invoice:000123", "release", etag="7001")
    assert len(recorder.requests) == 1
    with pytest.raises(VismaServerError):
        await client.apply("Invoice:000123", "note", etag="7001", comment="x")
    assert len(recorder.requests) == 1 + 3
