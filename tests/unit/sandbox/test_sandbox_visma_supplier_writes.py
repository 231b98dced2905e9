"""The Visma sandbox creates and updates suppliers and supplier invoices as the public API
documents: wrapped write DTOs, 201 + Location, If-Match and 412, lists that find them."""

from __future__ import annotations

import httpx
import pytest
from sandbox_kit import visma_token

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SUPPLIERS = "/visma/v1/supplier"
INVOICES = "/visma/v1/supplierInvoice"


def _v(value: object) -> dict[str, object]:
    return {"value": value}


SUPPLIER_DTO = {
    "name": _v("Nordisk Kontor ApS"),
    "corporateId": _v("31337000"),
    "vatRegistrationId": _v("DK31337000"),
    "currencyId": _v("DKK"),
    "mainAddress": _v({"addressLine1": _v("Vesterbrogade 1"), "city": _v("Copenhagen")}),
    "mainContact": _v({"email": _v("ap@nordisk.example-dk")}),
}


async def _create_supplier(client: httpx.AsyncClient, auth: dict[str, str]) -> httpx.Response:
    response = await client.post(SUPPLIERS, headers=auth, json=SUPPLIER_DTO)
    assert response.status_code == 201, response.text
    return response


def _invoice_dto(supplier: str, **changes: object) -> dict[str, object]:
    return {
        "supplierNumber": _v(supplier),
        "supplierReference": _v("INV-7781"),
        "date": _v("2026-03-01"),
        "dueDate": _v("2026-03-31"),
        "currencyId": _v("DKK"),
        "amount": _v(1250.5),
        "invoiceLines": [
            {
                "operation": "Insert",
                "transactionDescription": _v("Paper"),
                "quantity": _v(1),
                "unitCostInCurrency": _v(1000.5),
                "accountNumber": _v("6100"),
                "subaccount": _v("100-20"),
            },
            {
                "operation": "Insert",
                "transactionDescription": _v("Toner"),
                "quantity": _v(1),
                "unitCostInCurrency": _v(250),
                "accountNumber": _v("6110"),
            },
        ],
        **changes,
    }


async def test_a_created_supplier_is_read_listed_and_found_by_its_ids(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)

    created = await _create_supplier(client, auth)

    location = created.headers["Location"]
    number = location.rsplit("/", 1)[1]
    read = await client.get(location, headers=auth)
    dto = read.json()
    assert (dto["number"], dto["name"], dto["corporateId"]) == (
        number, "Nordisk Kontor ApS", "31337000"
    )  # fmt: skip
    assert dto["mainAddress"] == {"addressLine1": "Vesterbrogade 1", "city": "Copenhagen"}
    assert dto["mainContact"] == {"email": "ap@nordisk.example-dk"}
    assert read.headers["ETag"] == created.headers["ETag"]
    for query in ({"corporateId": "31337000"}, {"vatRegistrationId": "DK31337000"}):
        found = await client.get(SUPPLIERS, headers=auth, params=query)
        assert [s["number"] for s in found.json()] == [number]
    assert (await client.get(SUPPLIERS, headers=auth, params={"corporateId": "0"})).json() == []
    everything = await client.get(SUPPLIERS, headers=auth, params={"pageSize": 1000})
    assert number in {s["number"] for s in everything.json()}


async def test_a_supplier_update_honours_if_match(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    created = await _create_supplier(client, auth)
    location, etag = created.headers["Location"], created.headers["ETag"]

    updated = await client.put(
        location, headers=auth | {"If-Match": etag}, json={"name": _v("Nordisk Kontor A/S")}
    )
    stale = await client.put(
        location, headers=auth | {"If-Match": etag}, json={"name": _v("Overwritten")}
    )

    assert updated.status_code == 204, updated.text
    assert stale.status_code == 412
    read = await client.get(location, headers=auth)
    assert read.json()["name"] == "Nordisk Kontor A/S"
    assert read.headers["ETag"] == updated.headers["ETag"] != etag


async def test_a_supplier_dto_must_wrap_its_values_and_name_a_supplier(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    bare = await client.post(SUPPLIERS, headers=auth, json={"name": "Bare"})
    nameless = await client.post(SUPPLIERS, headers=auth, json={"corporateId": _v("1")})
    assert (bare.status_code, nameless.status_code) == (400, 400)


async def test_a_created_invoice_names_its_supplier_lines_and_is_found_by_reference(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    number = (await _create_supplier(client, auth)).headers["Location"].rsplit("/", 1)[1]

    created = await client.post(INVOICES, headers=auth, json=_invoice_dto(number))

    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert "/v1/supplierInvoice/Invoice/" in location
    dto = (await client.get(location, headers=auth)).json()
    assert dto["supplier"]["number"] == number
    assert (dto["supplierReference"], dto["amount"], dto["date"]) == (
        "INV-7781", 1250.5, "2026-03-01T00:00:00"
    )  # fmt: skip
    lines = [
        (x["lineNumber"], x["amount"], x["accountNumber"], x["subaccount"])
        for x in dto["invoiceLines"]
    ]
    assert lines == [(1, 1000.5, "6100", {"id": "100-20"}), (2, 250.0, "6110", None)]
    query = {"supplier": number, "supplierReference": "INV-7781"}
    found = await client.get(INVOICES, headers=auth, params=query)
    assert [i["referenceNumber"] for i in found.json()] == [dto["referenceNumber"]]
    other = await client.get(INVOICES, headers=auth, params=query | {"supplierReference": "X"})
    assert other.json() == []


async def test_an_invoice_without_an_existing_supplier_is_refused(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    missing = await client.post(INVOICES, headers=auth, json=_invoice_dto("99999"))
    assert missing.status_code == 400
    assert "99999" in missing.json()["ExceptionMessage"]


async def test_an_amount_that_disagrees_with_the_lines_is_refused(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    number = (await _create_supplier(client, auth)).headers["Location"].rsplit("/", 1)[1]
    wrong = await client.post(INVOICES, headers=auth, json=_invoice_dto(number, amount=_v(1)))
    assert wrong.status_code == 400
    assert "amount" in wrong.json()["ExceptionMessage"]


async def test_an_invoice_update_changes_lines_by_operation_under_if_match(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    number = (await _create_supplier(client, auth)).headers["Location"].rsplit("/", 1)[1]
    created = await client.post(INVOICES, headers=auth, json=_invoice_dto(number))
    location, etag = created.headers["Location"], created.headers["ETag"]
    change = {
        "amount": _v(1100.5),
        "invoiceLines": [
            {"operation": "Update", "lineNumber": _v(2), "unitCostInCurrency": _v(100)},
        ],
    }

    updated = await client.put(location, headers=auth | {"If-Match": etag}, json=change)
    stale = await client.put(location, headers=auth | {"If-Match": etag}, json=change)

    assert updated.status_code == 204, updated.text
    assert stale.status_code == 412
    dto = (await client.get(location, headers=auth)).json()
    assert (dto["amount"], dto["balance"]) == (1100.5, 1100.5)
    assert [x["amount"] for x in dto["invoiceLines"]] == [1000.5, 100.0]
    deleted = await client.put(
        location,
        headers=auth,
        json={"invoiceLines": [{"operation": "Delete", "lineNumber": _v(1)}]},
    )
    assert deleted.status_code == 204, deleted.text
    dto = (await client.get(location, headers=auth)).json()
    assert (dto["amount"], [x["lineNumber"] for x in dto["invoiceLines"]]) == (100.0, [2])


async def test_created_suppliers_and_invoices_show_in_the_pollers_change_filter(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    await client.post("/_sandbox/clock", json={"advance_seconds": 60})
    created = await _create_supplier(client, auth)
    number = created.headers["Location"].rsplit("/", 1)[1]
    since = (await client.get(created.headers["Location"], headers=auth)).json()
    changed = {
        "lastModifiedDateTime": since["lastModifiedDateTime"],
        "lastModifiedDateTimeCondition": ">=",
    }
    invoice = await client.post(INVOICES, headers=auth, json=_invoice_dto(number))
    assert invoice.status_code == 201, invoice.text

    suppliers = (await client.get(SUPPLIERS, headers=auth, params=changed)).json()
    invoices = (await client.get(INVOICES, headers=auth, params=changed)).json()

    assert [s["number"] for s in suppliers] == [number]
    assert [i["supplier"]["number"] for i in invoices] == [number]
