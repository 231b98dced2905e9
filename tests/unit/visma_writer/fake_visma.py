"""A stateful fake of Visma's supplier-invoice routes, as an httpx.MockTransport handler.

Each invoice has a version (its ETag); writes check If-Match (412), apply a small state
machine (release: Balanced/PendingApproval -> Open, refused otherwise), bump the version and
count what was applied, so a test can assert "applied exactly once".
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from pydantic import SecretStr

from visma_client import SupplierInvoiceActions, TokenProvider, VismaClient, VismaCredentials

TOKEN_URL = "https://connect.test/connect/token"
API = "https://api.test"
PREFIX = "/v1/supplierInvoice/"

TRANSITIONS = {
    "release": ({"Balanced", "PendingApproval"}, "Open"),
    "sendtoapproval": ({"Balanced", "OnHold"}, "PendingApproval"),
    "writeoff": ({"Open"}, "Closed"),
}


@dataclass
class Invoice:
    document_type: str
    number: str
    status: str
    version: int = 7001
    note: str | None = None

    def dto(self) -> dict[str, Any]:
        return {
            "documentType": self.document_type,
            "referenceNumber": self.number,
            "status": self.status,
            "approvalStatus": "Approved" if self.status == "Open" else "Pending",
            "note": self.note,
            "timeStamp": str(self.version),
        }


@dataclass
class FakeVisma:
    invoices: dict[str, Invoice] = field(default_factory=dict)
    applied: Counter[tuple[str, str]] = field(default_factory=Counter)
    requests: list[httpx.Request] = field(default_factory=list)
    refuse_tokens: int = 0
    """Answer this many token requests with 400 invalid_client."""
    accepted_secret: str | None = None
    """When set, a token request with any other client secret gets 400 invalid_client."""
    concurrent_edits: int = 0
    """Bump the version of the target just before this many writes (someone else saved)."""
    fail_writes: list[tuple[int, bool]] = field(default_factory=list)
    """(status, apply first) for the next writes: a 500 after applying is a lost answer."""
    on_write: Callable[[httpx.Request], None] | None = None
    token_requests: int = 0

    def add(self, entity_id: str, status: str = "Balanced") -> Invoice:
        document_type, _, number = entity_id.partition(":")
        invoice = Invoice(document_type, number, status)
        self.invoices[entity_id] = invoice
        return invoice

    def count(self, entity_id: str, action: str = "release") -> int:
        return self.applied[(entity_id, action)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            self.token_requests += 1
            secret = parse_qs(request.content.decode()).get("client_secret", [""])[0]
            if self.accepted_secret is not None and secret != self.accepted_secret:
                return httpx.Response(400, json={"error": "invalid_client"})
            if self.refuse_tokens:
                self.refuse_tokens -= 1
                return httpx.Response(400, json={"error": "invalid_client"})
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        self.requests.append(request)
        parts = request.url.path.removeprefix(PREFIX).split("/")
        if request.method == "GET":
            invoice = self.invoices.get(":".join(parts))
            if invoice is None:
                return httpx.Response(404, json={"ExceptionMessage": "not found"})
            return httpx.Response(200, json=invoice.dto(), headers=_etag(invoice))
        return self._write(request, parts)

    def _write(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        if self.on_write is not None:
            self.on_write(request)
        if request.method == "PUT":
            entity_id, action = ":".join(parts), "note"
        elif len(parts) == 4:
            entity_id, action = ":".join(parts[:2]), parts[3]
        else:
            entity_id, action = f"Invoice:{parts[0]}", parts[2]
        invoice = self.invoices[entity_id]
        if self.concurrent_edits:
            self.concurrent_edits -= 1
            invoice.version += 1
        if request.headers.get("if-match") != f'"{invoice.version}"':
            return httpx.Response(412, json={"ExceptionMessage": "ETag mismatch"})
        status, apply_first = self.fail_writes.pop(0) if self.fail_writes else (200, True)
        if apply_first:
            if action == "note":
                invoice.note = json.loads(request.content)["note"]["value"]
            else:
                accepts, target = TRANSITIONS[action]
                if invoice.status not in accepts:
                    return httpx.Response(
                        400, json={"ExceptionMessage": f"not in {invoice.status}"}
                    )
                invoice.status = target
            invoice.version += 1
            self.applied[(entity_id, action)] += 1
        if status != 200:
            return httpx.Response(status, json={"ExceptionMessage": "scripted failure"})
        return httpx.Response(200, json={"actionResult": "Done"}, headers=_etag(invoice))


def _etag(invoice: Invoice) -> dict[str, str]:
    return {"ETag": f'"{invoice.version}"'}


def actions_over(
    fake: FakeVisma, transport: httpx.AsyncBaseTransport | None = None
) -> SupplierInvoiceActions:
    http = httpx.AsyncClient(base_url=API, transport=transport or httpx.MockTransport(fake))
    credentials = VismaCredentials(client_id="cid", client_secret=SecretStr("s"), tenant_id="t1")
    tokens = TokenProvider(http, credentials=credentials, token_url=TOKEN_URL)
    return SupplierInvoiceActions(VismaClient(http, tokens=tokens, company_id="c1"))
