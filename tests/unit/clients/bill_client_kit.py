"""BillClient against the BILL sandbox in-process: the sandbox's clock is frozen and the
client's sleep moves it forward, so every wait and every idle minute is sandbox time and
none is real. The sandbox's admin routes play the BILL user and report its statistics."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sandbox_client_rig import RecordingTransport, SandboxTime

from bill_client import BillClient, BillCredentials, LimitRetry
from sandbox import SandboxConfig, create_app
from sandbox.bill.config import (
    DEMO_DEV_KEY,
    DEMO_ORGANIZATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
)
from sandbox.bill.state import BillState

START = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
SANDBOX = "http://sandbox/bill"
BASE_URL = f"{SANDBOX}/connect/v3"
EVENTS_URL = f"{SANDBOX}/connect-events/v3"
ORG = DEMO_ORGANIZATION_ID


def demo_credentials(**change: str) -> BillCredentials:
    fields: dict[str, Any] = {
        "username": DEMO_USERNAME,
        "password": SecretStr(DEMO_PASSWORD),
        "dev_key": SecretStr(DEMO_DEV_KEY),
        "organization_id": ORG,
    }
    fields.update(
        {k: SecretStr(v) if k in ("password", "dev_key") else v for k, v in change.items()}
    )
    return BillCredentials(**fields)


@dataclass
class Rig:
    app: FastAPI
    transport: RecordingTransport
    time: SandboxTime
    client: BillClient

    @property
    def bill(self) -> BillState:
        return self.app.state.sandbox.bill  # type: ignore[no-any-return]

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        """A call to the BILL sandbox's admin API (``/bill/_sandbox``)."""
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=SANDBOX) as admin:
            answer = await admin.request(method, f"/_sandbox{path}", json=body)
        assert answer.is_success, answer.text
        return answer.json() if answer.content else None

    async def stats(self) -> dict[str, Any]:
        return await self.admin("GET", "/stats")  # type: ignore[no-any-return]

    async def vendor(self, name: str, **fields: Any) -> dict[str, Any]:
        body = {"name": name, **fields}
        return await self.admin("POST", f"/organizations/{ORG}/vendors", body)  # type: ignore[no-any-return]

    async def entered_bill(self, vendor_id: str, number: str, *amounts: float) -> dict[str, Any]:
        body = {
            "vendorId": vendor_id,
            "invoice": {"invoiceNumber": number, "invoiceDate": "2026-03-01"},
            "dueDate": "2026-03-31",
            "billLineItems": [
                {
                    "amount": amount,
                    "description": f"line {n}",
                    "classifications": {"chartOfAccountId": "0ca01", "departmentId": "0de01"},
                }
                for n, amount in enumerate(amounts or (100.0,))
            ],
        }
        return await self.admin("POST", f"/organizations/{ORG}/bills", body)  # type: ignore[no-any-return]

    @property
    def bill_org(self) -> str:
        return ORG

    def passes(self, seconds: float) -> None:
        self.time.clock.advance(seconds)

    def client_for(self, credentials: BillCredentials, **options: Any) -> BillClient:
        return client_for(self.app, self.time, credentials, **options)


def sandbox_app(*, clock_speed: float = 0, **bill: Any) -> FastAPI:
    config = SandboxConfig.model_validate(
        {"clock_speed": clock_speed, "clock_start": START, "bill": bill}
    )
    return create_app(config)


def client_for(
    app: FastAPI,
    time: SandboxTime,
    credentials: BillCredentials | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    **options: Any,
) -> BillClient:
    options.setdefault("limit_retry", LimitRetry(max_attempts=4))
    return BillClient(
        credentials or demo_credentials(),
        base_url=BASE_URL,
        events_base_url=EVENTS_URL,
        transport=transport or httpx.ASGITransport(app=app),
        clock=time.time,
        sleep=time.sleep,
        rng=random.Random(7),
        **options,
    )


@asynccontextmanager
async def rig(*, clock_speed: float = 0, **bill: Any) -> AsyncIterator[Rig]:
    app = sandbox_app(clock_speed=clock_speed, **bill)
    time = SandboxTime(app.state.sandbox.clock)
    transport = RecordingTransport(app)
    async with client_for(app, time, transport=transport) as client:
        yield Rig(app, transport, time, client)
