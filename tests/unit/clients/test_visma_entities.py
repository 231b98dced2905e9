"""Every Visma entity through VismaClient: its route, the change filter, paging, exact money,
the single-record route with its ETag, and the canonical entity id."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from visma_client import (
    VISMA_ENTITIES,
    EntitySpec,
    TokenProvider,
    VismaClient,
    VismaCredentials,
    VismaRecordIncomplete,
)
from visma_client.models_reference import CustomerDto, SupplierDto

pytestmark = pytest.mark.unit

TOKEN_URL = "https://connect.test/connect/token"
API = "https://api.test"
SINCE = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

# entity -> (id fields on the wire for record n, its entity_id, the route of record 1)
IDS: dict[str, tuple[dict[str, Any], str, str]] = {
    "supplier": ({"number": "1000{n}"}, "1000{n}", "/v1/supplier/10001"),
    "supplierInvoice": (
        {"documentType": "Invoice", "referenceNumber": "20{n}"},
        "Invoice:20{n}",
        "/v1/supplierInvoice/Invoice/201",
    ),
    "purchaseOrder": (
        {"orderType": "RegularOrder", "orderNbr": "PO00{n}"},
        "RegularOrder:PO00{n}",
        "/v1/purchaseorder/PO001",
    ),
    "purchaseReceipt": (
        {"receiptType": "PoReceipt", "receiptNbr": "PR00{n}"},
        "PR00{n}",
        "/v1/PurchaseReceipt/PR001",
    ),
    "expenseClaim": ({"refNbr": "EC00{n}"}, "EC00{n}", "/v1/expenseClaim/EC001"),
    "journalTransaction": (
        {"module": "ModuleGL", "batchNumber": "GL00{n}"},
        "ModuleGL:GL00{n}",
        "/v2/journaltransaction/GL001",
    ),
    "customerInvoice": (
        {"documentType": "Invoice", "referenceNumber": "CI00{n}"},
        "Invoice:CI00{n}",
        "/v1/customerinvoice/CI001",
    ),
    "customer": ({"number": "C00{n}"}, "C00{n}", "/v1/customer/C001"),
    "supplierPayment": (
        {"type": "Payment", "refNbr": "SP00{n}"},
        "Payment:SP00{n}",
        "/v1/supplierPayment/Payment/SP001",
    ),
    "customerPayment": (
        {"type": "Payment", "refNbr": "CP00{n}"},
        "Payment:CP00{n}",
        "/v1/payment/CP001",
    ),
    "account": ({"accountCd": "40{n}0"}, "40{n}0", "/v1/account/4010"),
    "dimension": (
        {"dimensionId": "DEPT", "segmentId": 1, "valueId": "V{n}"},
        "DEPT/1/V{n}",
        "/v1/dimension/DEPT/1/V1",
    ),
    "employee": ({"employeeNumber": "E00{n}"}, "E00{n}", "/v1/employee/E001"),
}

# entity -> (money field on the wire, the DTO attribute it lands in)
MONEY = {
    "supplierInvoice": ("amount", "amount"),
    "purchaseOrder": ("orderTotal", "order_total"),
    "purchaseReceipt": ("totalAmount", "total_amount"),
    "expenseClaim": ("claimTotal", "claim_total"),
    "journalTransaction": ("controlTotalInCurrency", "control_total_in_currency"),
    "customerInvoice": ("amount", "amount"),
    "supplierPayment": ("paymentAmount", "payment_amount"),
    "customerPayment": ("paymentAmount", "payment_amount"),
}
AMOUNT_TOKEN = "__AMOUNT__"


def record(entity: str, n: int, **extra: Any) -> dict[str, Any]:
    fields, _, _ = IDS[entity]
    wire = {k: v.format(n=n) if isinstance(v, str) else v for k, v in fields.items()}
    return {
        **wire,
        "lastModifiedDateTime": f"2026-01-15T10:20:3{n}.123",
        "createdDateTime": "2026-01-10T08:00:00.000",
        "timeStamp": f"AAAAAAAB{n}",
        **extra,
    }


def entity_id(entity: str, n: int) -> str:
    return IDS[entity][1].format(n=n)


class FakeVisma:
    """A token endpoint and every entity's list and item routes, as a MockTransport handler."""

    def __init__(self, records: dict[str, list[dict[str, Any]]], *, max_page: int = 100):
        self.records = records
        self.max_page = max_page
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        self.requests.append(request)
        path = request.url.path
        for name, spec in VISMA_ENTITIES.items():
            items = self.records.get(name, [])
            if path == spec.path:
                return self._page(request, items)
            if path.startswith(spec.path + "/"):
                for item in items:
                    if spec.item_path(_wire_id(spec, item)) == path:
                        return httpx.Response(200, content=_raw(item), headers={"ETag": '"e1"'})
        return httpx.Response(404, json={"ExceptionMessage": "no such route"})

    def _page(self, request: httpx.Request, items: list[dict[str, Any]]) -> httpx.Response:
        size = min(int(request.url.params["pageSize"]), self.max_page)
        number = int(request.url.params["pageNumber"])
        chunk = items[(number - 1) * size : number * size]
        meta = {"totalCount": len(items), "maxPageSize": self.max_page}
        return httpx.Response(200, content=_raw([{**i, "metadata": meta} for i in chunk]))


def _wire_id(spec: EntitySpec, item: dict[str, Any]) -> str:
    return spec.id_of(spec.model.model_validate(item))


def _raw(body: Any) -> bytes:
    # Money leaves as a JSON number with exactly the digits given (json.dumps would use float).
    return json.dumps(body).replace(f'"{AMOUNT_TOKEN}', "").replace(f'{AMOUNT_TOKEN}"', "").encode()


def make(fake: FakeVisma) -> VismaClient:
    http = httpx.AsyncClient(base_url=API, transport=httpx.MockTransport(fake))
    credentials = VismaCredentials(client_id="cid", client_secret=SecretStr("s"), tenant_id="t")
    tokens = TokenProvider(http, credentials=credentials, token_url=TOKEN_URL)
    return VismaClient(http, tokens=tokens, company_id="1234567")


def test_every_entity_of_the_contract_has_a_spec() -> None:
    assert set(VISMA_ENTITIES) == set(IDS)
    assert all(spec.name == name for name, spec in VISMA_ENTITIES.items())


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(IDS))
async def test_each_entity_is_listed_from_its_route_page_by_page(name: str) -> None:
    spec = VISMA_ENTITIES[name]
    fake = FakeVisma({name: [record(name, n) for n in (1, 2, 3)]}, max_page=2)
    client = make(fake)

    pages = [p async for p in client.iter_entity_pages(spec, modified_since=SINCE)]

    assert [p.page_number for p in pages] == [1, 2]
    assert [p.total_count for p in pages] == [3, 3]
    items = [item for page in pages for item in page.items]
    assert all(isinstance(item, spec.model) for item in items)
    assert [spec.id_of(item) for item in items] == [entity_id(name, n) for n in (1, 2, 3)]
    assert {r.url.path for r in fake.requests} == {spec.path}
    assert [dict(r.url.params) for r in fake.requests] == [
        {
            "lastModifiedDateTime": "2026-01-02T03:04:05.678",
            "lastModifiedDateTimeCondition": ">=",
            "pageSize": "100",
            "pageNumber": str(page),
        }
        for page in (1, 2)
    ]


@pytest.mark.anyio
async def test_a_resumed_read_starts_at_its_page_with_the_same_filter() -> None:
    spec = VISMA_ENTITIES["purchaseOrder"]
    fake = FakeVisma({"purchaseOrder": [record("purchaseOrder", n) for n in (1, 2, 3)]})
    client = make(fake)

    pages = [
        p
        async for p in client.iter_entity_pages(
            spec, modified_since=SINCE, condition=">", page_size=2, first_page=2
        )
    ]

    assert [(p.page_number, len(p.items)) for p in pages] == [(2, 1)]
    assert fake.requests[0].url.params["lastModifiedDateTimeCondition"] == ">"
    assert fake.requests[0].url.params["pageNumber"] == "2"


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(MONEY))
async def test_money_is_read_as_exact_decimals(name: str) -> None:
    wire_field, attribute = MONEY[name]
    amount = f"{AMOUNT_TOKEN}1234567.10{AMOUNT_TOKEN}"
    fake = FakeVisma({name: [record(name, 1, **{wire_field: amount})]})
    client = make(fake)

    pages = [p async for p in client.iter_entity_pages(VISMA_ENTITIES[name], modified_since=SINCE)]

    value = getattr(pages[0].items[0], attribute)
    assert isinstance(value, Decimal)
    assert value == Decimal("1234567.10")
    assert str(value) == "1234567.10"


@pytest.mark.anyio
async def test_line_amounts_are_exact_too() -> None:
    line = {"lineNbr": 1, "orderQty": f"{AMOUNT_TOKEN}3{AMOUNT_TOKEN}"}
    line["unitCost"] = f"{AMOUNT_TOKEN}0.10{AMOUNT_TOKEN}"
    fake = FakeVisma({"purchaseOrder": [record("purchaseOrder", 1, lines=[line])]})
    client = make(fake)
    spec = VISMA_ENTITIES["purchaseOrder"]

    pages = [p async for p in client.iter_entity_pages(spec, modified_since=SINCE)]

    (parsed,) = pages[0].items[0].model_dump()["lines"]
    assert parsed["unit_cost"] * parsed["order_qty"] == Decimal("0.30")


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(IDS))
async def test_get_entity_reads_one_record_from_its_route_with_the_etag(name: str) -> None:
    spec = VISMA_ENTITIES[name]
    fake = FakeVisma({name: [record(name, 1), record(name, 2)]})
    client = make(fake)

    dto, etag = await client.get_entity(spec, entity_id(name, 1))

    assert fake.requests[-1].url.path == IDS[name][2]
    assert isinstance(dto, spec.model)
    assert spec.id_of(dto) == entity_id(name, 1)
    assert etag == '"e1"'


def test_item_paths_escape_each_part() -> None:
    spec = VISMA_ENTITIES["supplierInvoice"]
    assert spec.item_path("Credit Note:A/1") == "/v1/supplierInvoice/Credit%20Note/A%2F1"
    dimension = VISMA_ENTITIES["dimension"]
    assert dimension.item_path("DEPT/2/A/B") == "/v1/dimension/DEPT/2/A%2FB"


@pytest.mark.parametrize("malformed", ["", "PO001", ":PO001", "RegularOrder:"])
def test_an_id_that_does_not_fit_the_entity_is_refused(malformed: str) -> None:
    with pytest.raises(ValueError, match="purchaseOrder"):
        VISMA_ENTITIES["purchaseOrder"].item_path(malformed)


# A supplier invoice without referenceNumber fails its page (a contract error), as it always has.
INCOMPLETE = [
    (name, how)
    for name in sorted(IDS)
    for how in ("absent", "blank")
    if (name, how) != ("supplierInvoice", "absent")
]


@pytest.mark.parametrize(("name", "how"), INCOMPLETE)
def test_a_record_without_its_id_fields_is_incomplete(name: str, how: str) -> None:
    spec = VISMA_ENTITIES[name]
    wire = record(name, 1)
    last_id_field = list(IDS[name][0])[-1]
    if how == "absent":
        del wire[last_id_field]
    else:
        wire[last_id_field] = "  "

    with pytest.raises(VismaRecordIncomplete, match=name):
        spec.id_of(spec.model.model_validate(wire))


def test_a_supplier_invoice_without_a_document_type_is_a_standard_invoice() -> None:
    spec = VISMA_ENTITIES["supplierInvoice"]
    dto = spec.model.model_validate({"referenceNumber": "77"})
    assert spec.id_of(dto) == "Invoice:77"


def test_numeric_codes_are_read_as_text() -> None:
    dto = CustomerDto.model_validate({"number": 10001, "mainContact": {"phone1": "+47 1"}})
    assert dto.number == "10001"
    assert VISMA_ENTITIES["customer"].id_of(dto) == "10001"


def test_a_dto_of_another_entity_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="SupplierDto"):
        VISMA_ENTITIES["customer"].id_of(SupplierDto.model_validate({"number": "1"}))
