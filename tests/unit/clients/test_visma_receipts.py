"""PurchaseReceipts on the wire: the create's DTO, Location and ETag, the order lookups."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr
from test_visma_actions import API, TOKEN_URL, Answer, Recorder

from chassis.http import RetryPolicy, RetryTransport
from visma_client import (
    PurchaseReceipts,
    ReceiptLineRequest,
    TokenProvider,
    VismaClient,
    VismaContractError,
    VismaCredentials,
    VismaPreconditionFailed,
    VismaServerError,
)

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


async def _instant(_: float) -> None:
    return None


def receipts(answer: Answer) -> tuple[PurchaseReceipts, Recorder]:
    recorder = Recorder(answer)
    policy = RetryPolicy(max_attempts=3, retry_server_errors=True)
    transport = RetryTransport(httpx.MockTransport(recorder), policy=policy, sleep=_instant)
    http = httpx.AsyncClient(base_url=API, transport=transport)
    credentials = VismaCredentials(client_id="cid", client_secret=SecretStr("s"), tenant_id="t1")
    tokens = TokenProvider(http, credentials=credentials, token_url=TOKEN_URL)
    return PurchaseReceipts(VismaClient(http, tokens=tokens, company_id="c1")), recorder


LINE = ReceiptLineRequest("RegularOrder", "PO-7", 2, Decimal("3.5"))


async def test_create_posts_a_wrapped_dto_and_returns_the_number_from_location() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        location = f"{API}/v1/PurchaseReceipt/PR000042"
        return httpx.Response(201, headers={"Location": location, "ETag": 'W/"9001"'})

    client, recorder = receipts(answer)

    created = await client.create([LINE], note="mlc:abc", supplier_ref="monday 1/2")

    assert (created.number, created.etag) == ("PR000042", "9001")
    (request,) = recorder.requests
    assert (request.method, request.url.path) == ("POST", "/v1/PurchaseReceipt")
    assert json.loads(request.content) == {
        "receiptType": {"value": "PoReceipt"},
        "note": {"value": "mlc:abc"},
        "supplierRef": {"value": "monday 1/2"},
        "lines": [
            {
                "operation": "Insert",
                "poOrderType": {"value": "RegularOrder"},
                "poOrderNbr": {"value": "PO-7"},
                "poLineNbr": {"value": 2},
                "receiptQty": {"value": 3.5},
            }
        ],
    }


async def test_a_create_is_never_repeated_by_the_transport() -> None:
    client, recorder = receipts(lambda _: httpx.Response(500, json={"ExceptionMessage": "boom"}))

    with pytest.raises(VismaServerError):
        await client.create([LINE], note="mlc:abc")

    assert len(recorder.requests) == 1


async def test_a_201_without_location_is_a_contract_error() -> None:
    client, _ = receipts(lambda _: httpx.Response(201))

    with pytest.raises(VismaContractError, match="without Location"):
        await client.create([LINE], note="mlc:abc")


async def test_receipts_for_an_order_page_with_the_filter_and_keep_only_that_orders() -> None:
    def receipt(nbr: str, order: str, total: int) -> dict[str, object]:
        return {"receiptNbr": nbr, "lines": [{"lineNbr": 1, "poOrderNbr": order}],
                "metadata": {"totalCount": total, "maxPageSize": 2}}  # fmt: skip

    pages = {
        "1": [receipt("PR1", "PO-7", 3), receipt("PR2", "PO-8", 3)],
        "2": [receipt("PR3", "PO-7", 3)],
    }

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.params["poOrderNbr"] == "PO-7"
        return httpx.Response(200, json=pages[request.url.params["pageNumber"]])

    client, recorder = receipts(answer)

    found = await client.receipts_for_order("PO-7")

    assert [r.receipt_nbr for r in found] == ["PR1", "PR3"]
    assert len(recorder.requests) == 2


async def test_read_order_names_the_order_by_number_and_gives_its_bare_etag() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"orderType": "RegularOrder", "orderNbr": "PO-7", "status": "Open",
                "lines": [{"lineNbr": 1, "orderQty": 5, "qtyOnReceipts": 2}]}  # fmt: skip
        return httpx.Response(200, json=body, headers={"ETag": '"7001"'})

    client, recorder = receipts(answer)

    version = await client.read_order("RegularOrder", "PO-7")

    assert recorder.requests[0].url.path == "/v1/purchaseorder/PO-7"
    assert version.etag == "7001"
    assert version.order.lines[0].qty_on_receipts == Decimal(2)


async def test_the_order_action_sends_if_match_and_a_stale_etag_raises() -> None:
    client, recorder = receipts(lambda _: httpx.Response(412, json={"ExceptionMessage": "etag"}))

    with pytest.raises(VismaPreconditionFailed):
        await client.create_from_order("PO-7", etag="7001")

    (request,) = recorder.requests
    assert request.url.path == "/v1/purchaseorder/PO-7/action/createpurchasereceipt"
    assert request.headers["If-Match"] == '"7001"'
