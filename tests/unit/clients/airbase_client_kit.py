"""A small Airbase for `httpx.MockTransport`, answering as the contract and DRF do.

It keeps records per collection in the API's field names, pages ``?page=N&page_size=M``
until an empty ``data`` (``pagination.next`` always null, as recorded), filters on exact
field values, answers DRF's error bodies, and plays scripted faults (an answer or a
transport exception) before the next requests. It is the test's stand-in for the wire, so
its shapes are the contract's (docs/airbase-client.md), written here from the facts, not
from the client.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from airbase_client import AirbaseClient, AirbaseProfile

TOKEN = "airbase-test-token-9f3c1e"
API = "https://api-stage.airbase.io"

Fault = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]

COLLECTIONS = {
    "/v1/accounting/vendors/": "vendors",
    "/v1/accounting/accounts/": "accounts",
    "/v1/accounting/subsidiaries/": "subsidiaries",
    "/v1/accounting/departments/": "departments",
    "/v1/accounting/bills/": "bills",
    "/v1/accounting/purchase_orders/": "purchase_orders",
    "/v1/accounting/ledger_entries/": "ledger_entries",
}


@dataclass
class FakeAirbase:
    """The account behind one token; `paths` and `ref_field` follow the test's profile."""

    scheme: str = "Token"
    token: str = TOKEN
    paths: dict[str, str] = field(default_factory=lambda: dict(COLLECTIONS))
    ref_field: str = "erp_reference_id"
    status_field: str = "status"
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[tuple[str | None, Fault]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    remaining: int = 500
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(9001))

    def add(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        record = {"airbase_id": next(self._ids), **record}
        self.records.setdefault(collection, []).append(record)
        return record

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail_next(self, *faults: Fault, method: str | None = None) -> None:
        """The next requests (of `method` only, if given) meet `faults`, one each."""
        self.faults.extend((method, fault) for fault in faults)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        due = [i for i, (method, _) in enumerate(self.faults) if method in (None, request.method)]
        if due:
            _, fault = self.faults.pop(due[0])
            if isinstance(fault, Exception):
                raise fault
            return fault(request) if callable(fault) else fault
        if request.headers.get("authorization") != f"{self.scheme} {self.token}":
            return drf(401, {"detail": "Invalid token."}, {"WWW-Authenticate": self.scheme})
        self.remaining -= 1
        answer = self._route(request)
        answer.headers["X-Ratelimit-Limit"] = "500"
        answer.headers["X-Ratelimit-Remaining"] = str(self.remaining)
        return answer

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for collection_path, name in self.paths.items():
            if path == collection_path:
                return self._collection(request, name)
            if path.startswith(collection_path) and path.endswith("/"):
                item_id = path[len(collection_path) : -1]
                return self._item(request, name, item_id)
        return drf(404, {"detail": "Not found."})

    def _collection(self, request: httpx.Request, name: str) -> httpx.Response:
        rows = self.records.setdefault(name, [])
        if request.method == "GET":
            params = dict(request.url.params)
            page = int(params.pop("page", "1"))
            size = int(params.pop("page_size", "100"))
            if name == "ledger_entries":
                params.setdefault(self.status_field, "sync_ready")
            chosen = [r for r in rows if all(str(r.get(k)) == v for k, v in params.items())]
            data = chosen[(page - 1) * size : page * size]
            pagination = {"next": None, "previous": None, "page": page, "page_size": size}
            return httpx.Response(200, json={"data": data, "pagination": pagination})
        if request.method == "POST":
            body = json.loads(request.content)
            if not body.get("name") and name == "vendors":
                return drf(400, {"name": ["This field is required."]})
            return httpx.Response(201, json=self.add(name, body))
        return drf(405, {"detail": f'Method "{request.method}" not allowed.'})

    def _item(self, request: httpx.Request, name: str, item_id: str) -> httpx.Response:
        found = [r for r in self.records.get(name, []) if str(r["airbase_id"]) == item_id]
        if not found:
            return drf(404, {"detail": "Not found."})
        record = found[0]
        if request.method == "GET":
            return httpx.Response(200, json=record)
        if request.method == "PATCH":
            changes = json.loads(request.content)
            synced_as = record.get(self.ref_field)
            wanted = changes.get(self.ref_field)
            if name == "ledger_entries" and synced_as and wanted and synced_as != wanted:
                return drf(400, {self.ref_field: [f"Entry is already synced as {synced_as}."]})
            record.update(changes)
            return httpx.Response(200, json=record)
        return drf(405, {"detail": f'Method "{request.method}" not allowed.'})

    def calls(self, method: str | None = None) -> list[httpx.Request]:
        return [r for r in self.requests if method is None or r.method == method]


def drf(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def throttled(seconds: int) -> httpx.Response:
    return drf(
        429,
        {"detail": f"Request was throttled. Expected available in {seconds} seconds."},
        {"Retry-After": str(seconds)},
    )


def server_error(status: int = 500) -> httpx.Response:
    return httpx.Response(status, text="<h1>Server Error (500)</h1>")


@dataclass
class Sleeps:
    """The client's sleep: records each wait and returns at once."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client_for(
    airbase: FakeAirbase,
    profile: AirbaseProfile | None = None,
    *,
    sleeps: Sleeps | None = None,
    **options: Any,
) -> AirbaseClient:
    return AirbaseClient(
        API,
        SecretStr(airbase.token),
        profile,
        transport=airbase.transport(),
        sleep=sleeps or Sleeps(),
        rng=random.Random(3),
        **options,
    )


def vendor(ref: str, name: str | None = None, **more: Any) -> dict[str, Any]:
    return {
        "erp_reference_id": ref,
        "erp_parent_reference_id": None,
        "name": name or f"Vendor {ref}",
        "is_active": True,
        "email": f"ap-{ref}@example.se",
        "subsidiary_reference_ids": [{"airbase_id": 11, "erp_reference_id": "tenant-se-1"}],
        **more,
    }


def payment_entry(bill_id: int, *, total: str = "1234.50") -> dict[str, Any]:
    """A bill payment as Airbase records it (tap-airbase's recorded entry shape)."""
    return {
        "id": 77,
        "erp_reference_id": None,
        "erp_url": None,
        "type": "bill_payment",
        "status": "sync_ready",
        "error_message": None,
        "spend_owner": {"name": "Astrid Berg", "email": "astrid@example.se"},
        "subsidiary": {"erp_reference_id": "tenant-se-1", "name": "Nordlys AB"},
        "credit_mode": None,
        "vendor": {
            "id": 5,
            "airbase_id": 5,
            "name": "Kontorsvaror AB",
            "erp_reference_id": "50001",
            "created_in_platform": True,
            "created_in_airbase": False,
        },
        "employee": None,
        "invoice_number": "F-2026-118",
        "bank_account": {"erp_reference_id": "1930", "name": "Bank"},
        "ap_account": {"erp_reference_id": "2440", "name": "Leverantörsskulder"},
        "applied_to": [{"id": bill_id, "airbase_id": bill_id, "transaction_type": "bill"}],
        "receipt_link": None,
        "entry_date": "2026-03-02",
        "payment_entry_date": "2026-03-03",
        "currency": {"erp_reference_id": "SEK", "iso_code": "SEK"},
        "total_amount": total,
        "transaction_tags": [],
        "notes": None,
        "is_amortized": False,
        "expense_list": [
            {
                "line_number": 1,
                "receipt_link": None,
                "account": {"erp_reference_id": "6110", "name": "Kontorsmaterial"},
                "amount": total,
                "tags": [{"type": "department", "erp_reference_id": "CC20", "name": "Sälj"}],
                "description": "Papper",
            }
        ],
        "amounts": {
            "amount": {"amount": total, "currency": "SEK"},
            "transaction_amount": {"amount": total, "currency": "SEK"},
            "settlement_amount": None,
            "subsidiary_amount": {"amount": total, "currency": "SEK"},
        },
    }
