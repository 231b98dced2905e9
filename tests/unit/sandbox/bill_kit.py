"""Helpers for the BILL sandbox tests: log in as the demo user, seed records as a BILL user."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.bill.config import (
    DEMO_DEV_KEY,
    DEMO_ORGANIZATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
)

API = "/bill/connect/v3"
EVENTS_API = "/bill/connect-events/v3"
ADMIN = "/bill/_sandbox"
ORG = DEMO_ORGANIZATION_ID
LOGIN = {
    "username": DEMO_USERNAME,
    "password": DEMO_PASSWORD,
    "organizationId": ORG,
    "devKey": DEMO_DEV_KEY,
}


async def login(client: httpx.AsyncClient) -> dict[str, str]:
    """Headers of a fresh session: ``devKey`` and ``sessionId``."""
    response = await client.post(f"{API}/login", json=LOGIN)
    assert response.status_code == 200, response.text
    return {"devKey": DEMO_DEV_KEY, "sessionId": response.json()["sessionId"]}


def error_code(response: httpx.Response) -> str:
    """The code of BILL's v3 error body, after checking the body has BILL's shape."""
    body = response.json()
    assert isinstance(body, list), body
    assert len(body) == 1, body
    assert set(body[0]) == {"timestamp", "code", "severity", "category", "message"}, body
    return str(body[0]["code"])


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    response = await client.post("/_sandbox/clock", json={"advance_seconds": seconds})
    assert response.status_code == 200


async def add_vendor(client: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        f"{ADMIN}/organizations/{ORG}/vendors", json={"name": name, **fields}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def bill_body(vendor_id: str, number: str, *amounts: float) -> dict[str, Any]:
    return {
        "vendorId": vendor_id,
        "invoice": {"invoiceNumber": number, "invoiceDate": "2026-03-01"},
        "dueDate": "2026-03-31",
        "billLineItems": [
            {
                "amount": amount,
                "description": f"line {index}",
                "classifications": {"chartOfAccountId": "0ca01GL4000", "departmentId": "0de01CC10"},
            }
            for index, amount in enumerate(amounts or (100.0,))
        ],
    }


async def add_bill(
    client: httpx.AsyncClient, vendor_id: str, number: str, *amounts: float
) -> dict[str, Any]:
    response = await client.post(
        f"{ADMIN}/organizations/{ORG}/bills", json=bill_body(vendor_id, number, *amounts)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]
