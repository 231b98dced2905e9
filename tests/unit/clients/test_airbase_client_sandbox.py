"""AirbaseClient against the Airbase sandbox in-process (libs/sandbox/airbase), on the
sandbox's frozen clock (the client's sleep moves it): the contract's whole round, once with
the default profile and once with paths, field names and the auth scheme changed on both
sides from one YAML; the sandbox's faults, hourly budget and DRF refusals as typed errors."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from pydantic import SecretStr
from sandbox_client_rig import RecordingTransport, SandboxTime

from airbase_client import (
    ACCOUNTS,
    BILLS,
    DEPARTMENTS,
    PURCHASE_ORDERS,
    SUBSIDIARIES,
    VENDORS,
    AirbaseAlreadySynced,
    AirbaseBill,
    AirbaseClient,
    AirbaseCredentialsRefused,
    AirbaseProfile,
    AirbaseRateLimited,
    AirbaseRequestError,
    AirbaseValidationError,
    load_profile,
)
from sandbox import SandboxConfig, create_app
from sandbox.airbase.config import demo_token

pytestmark = pytest.mark.anyio

START = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
SANDBOX = "http://sandbox/airbase"
TENANT = "tenant-se-1"

RENAMED = """\
auth_scheme: Bearer
paths:
  vendors: /api/v2/suppliers/
  bills: /api/v2/payables/
  ledger_entries: /api/v2/journal/
fields:
  erp_reference_id: external_id
  expense_list: lines
  total_amount: amount_total
"""


@dataclass
class Rig:
    app: FastAPI
    transport: RecordingTransport
    time: SandboxTime
    client: AirbaseClient

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        """A call to the Airbase sandbox's admin API (``/airbase/_sandbox``)."""
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=SANDBOX) as admin:
            answer = await admin.request(method, f"/_sandbox{path}", json=body)
        assert answer.is_success, answer.text
        return answer.json() if answer.content else None

    async def creates(self, resource: str) -> dict[str, int]:
        everything = await self.admin("GET", f"/{resource}?tenant={TENANT}")
        return everything["counters"]["creates"]  # type: ignore[no-any-return]


@asynccontextmanager
async def rig(profile_yaml: str | None = None, *, tmp_path: Path) -> AsyncIterator[Rig]:
    app = create_app(SandboxConfig.model_validate({"clock_speed": 0, "clock_start": START}))
    profile = AirbaseProfile()
    if profile_yaml is not None:
        (tmp_path / "airbase-profile.yaml").write_text(profile_yaml, encoding="utf-8")
        profile = load_profile(tmp_path / "airbase-profile.yaml")
    time = SandboxTime(app.state.sandbox.clock)
    transport = RecordingTransport(app)
    client = AirbaseClient(
        SANDBOX,
        SecretStr(demo_token(TENANT)),
        profile,
        transport=transport,
        sleep=time.sleep,
        rng=random.Random(5),
    )
    async with client:
        found = Rig(app, transport, time, client)
        if profile_yaml is not None:
            await found.admin("PUT", "/profile", yaml.safe_load(profile_yaml))
        yield found


def bill_body(invoice_ref: str, vendor_ref: str, *amounts: str) -> dict[str, Any]:
    return {
        "erp_reference_id": invoice_ref,
        "vendor": {"erp_reference_id": vendor_ref},
        "invoice_number": f"SUP-{invoice_ref}",
        "currency": {"iso_code": "SEK"},
        "total_amount": sum((Decimal(a) for a in amounts), Decimal(0)),
        "entry_date": "2026-03-01",
        "due_date": "2026-03-31",
        "expense_list": [
            {
                "line_number": n,
                "account": {"erp_reference_id": "6110"},
                "amount": Decimal(amount),
                "description": f"line {n}",
                "tags": [{"type": "department", "erp_reference_id": "CC20", "name": "Sales"}],
            }
            for n, amount in enumerate(amounts, 1)
        ],
    }


@pytest.mark.parametrize("profile_yaml", [None, RENAMED], ids=["default", "renamed"])
async def test_the_whole_round_with_the_default_and_a_renaming_profile(
    profile_yaml: str | None, tmp_path: Path
) -> None:
    async with rig(profile_yaml, tmp_path=tmp_path) as r:
        airbase = r.client
        await airbase.create(SUBSIDIARIES, {"erp_reference_id": TENANT, "name": "Nordlys AB"})
        account = await airbase.create(
            ACCOUNTS, {"erp_reference_id": "6110", "name": "Office supplies", "number": "6110"}
        )
        await airbase.create(DEPARTMENTS, {"erp_reference_id": "CC20", "name": "Sales"})
        vendor = await airbase.create(
            VENDORS, {"erp_reference_id": "50001", "name": "Kontorsvaror AB"}
        )
        with pytest.raises(AirbaseValidationError) as no_vendor:
            await airbase.create(BILLS, bill_body("SE1/INV/9", "59999", "10.00"))
        bill = await airbase.create(BILLS, bill_body("SE1/INV/1001", "50001", "1000.00", "234.50"))
        found_vendor = await airbase.find_by_erp_reference(VENDORS, "50001")
        found_bill = await airbase.find_by_erp_reference("bills", "SE1/INV/1001")
        order = await airbase.create(
            PURCHASE_ORDERS,
            {
                "erp_reference_id": "SE1/PO/77",
                "vendor": {"erp_reference_id": "50001"},
                "po_number": "77",
                "currency": {"iso_code": "SEK"},
                "total_amount": Decimal("500.00"),
                "status": "open",
                "line_items": [
                    {"line_number": 1, "description": "Paper", "quantity": "10", "amount": "500.00"}
                ],
            },
        )
        received = await airbase.update(PURCHASE_ORDERS, order.airbase_id, {"status": "received"})

        await r.admin("POST", f"/bills/{bill.airbase_id}/approve")
        await r.admin("POST", f"/bills/{bill.airbase_id}/pay")
        entries = [entry async for entry in airbase.ledger_entries()]
        paid_bill = await airbase.get(BILLS, bill.airbase_id)
        marked = await airbase.mark_synced(entries[0].airbase_id, "PAY-000123")
        again = await airbase.mark_synced(entries[0].airbase_id, "PAY-000123")
        with pytest.raises(AirbaseAlreadySynced):
            await airbase.mark_synced(entries[0].airbase_id, "PAY-000999")
        left = [entry async for entry in airbase.ledger_entries()]

        assert no_vendor.value.fields == ["vendor"]
        assert account.number == "6110"
        assert isinstance(bill, AirbaseBill)
        assert bill.total_amount == Decimal("1234.50")
        assert [line.amount for line in bill.expense_list] == [
            Decimal("1000.00"),
            Decimal("234.50"),
        ]
        assert found_vendor is not None
        assert found_vendor.airbase_id == vendor.airbase_id
        assert found_bill is not None
        assert found_bill.airbase_id == bill.airbase_id
        assert received.status == "received"
        assert len(entries) == 1
        entry = entries[0]
        assert entry.type == "bill_payment"
        assert entry.bill_id() == bill.airbase_id
        assert entry.vendor is not None
        assert entry.vendor.erp_reference_id == "50001"
        assert entry.total_amount == Decimal("1234.50")
        lines = [
            (line.amount, line.account and line.account.erp_reference_id)
            for line in entry.expense_list
        ]
        assert lines == [(Decimal("1000.00"), "6110"), (Decimal("234.50"), "6110")]
        assert all(line.department() is not None for line in entry.expense_list)
        assert {
            line.department().erp_reference_id for line in entry.expense_list if line.department()
        } == {"CC20"}
        assert isinstance(paid_bill, AirbaseBill)
        assert paid_bill.status == "paid"
        assert marked.status == again.status == "synced"
        assert again.erp_reference_id == "PAY-000123"
        assert left == []
        assert await r.creates("vendors") == {"50001": 1}
        assert await r.creates("bills") == {"SE1/INV/1001": 1}
        scheme = "Token" if profile_yaml is None else "Bearer"
        assert all(
            q.headers["authorization"] == f"{scheme} {demo_token(TENANT)}"
            for q in r.transport.requests
        )
        if profile_yaml is not None:
            paths = {q.url.path for q in r.transport.requests}
            assert "/airbase/api/v2/suppliers/" in paths
            assert not any(p.startswith("/airbase/v1/accounting/vendors") for p in paths)
            bill_posts = [
                q
                for q in r.transport.requests
                if q.method == "POST" and q.url.path == "/airbase/api/v2/payables/"
            ]
            sent_bill = json.loads(bill_posts[-1].content)
            assert "external_id" in sent_bill
            assert "lines" in sent_bill
            assert "amount_total" in sent_bill
            assert "erp_reference_id" not in sent_bill


async def test_lists_page_through_the_sandbox_and_keep_its_rate_limit(tmp_path: Path) -> None:
    async with rig(tmp_path=tmp_path) as r:
        for number in range(230):
            await r.client.create(
                VENDORS, {"erp_reference_id": f"{50000 + number}", "name": f"V{number}"}
            )
        vendors = [v async for v in r.client.list(VENDORS)]
        assert [v.erp_reference_id for v in vendors] == [f"{50000 + n}" for n in range(230)]
        lists = [q for q in r.transport.requests if q.method == "GET"]
        assert [q.url.params["page"] for q in lists] == ["1", "2", "3", "4"]
        assert r.client.rate_limit.limit == 500
        assert r.client.rate_limit.remaining == 500 - 230 - 4


async def test_the_sandboxs_throttle_and_5xx_are_waited_out_and_a_failed_create_made_once(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path=tmp_path) as r:
        await r.admin("POST", "/faults", {"status": 429, "retry_after": 7, "times": 2})
        await r.client.create(VENDORS, {"erp_reference_id": "50001", "name": "Throttled AB"})
        await r.admin("POST", "/faults", {"status": 500, "times": 1, "method": "POST"})
        await r.admin("POST", "/faults", {"status": 503, "times": 2, "method": "GET"})
        made = await r.client.create(VENDORS, {"erp_reference_id": "50002", "name": "Failed AB"})
        assert made.name == "Failed AB"
        assert r.time.slept[:2] == [7.0, 7.0]
        assert len(r.time.slept) == 2 + 1 + 2  # the POST's backoff, then the look-up's 503s
        assert await r.creates("vendors") == {"50001": 1, "50002": 1}
        methods = [q.method for q in r.transport.requests]
        assert methods == ["POST"] * 3 + ["POST", "GET", "GET", "GET", "POST"]


class AnswerLost(httpx.AsyncBaseTransport):
    """Airbase handles the next POST, then its answer never arrives (a read timeout)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.lose_next_post = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method == "POST" and self.lose_next_post:
            self.lose_next_post = False
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


async def test_a_create_whose_answer_was_lost_is_found_in_the_sandbox_not_made_again(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path=tmp_path) as r:
        lossy = AnswerLost(r.transport)
        client = AirbaseClient(
            SANDBOX, SecretStr(demo_token(TENANT)), transport=lossy, sleep=r.time.sleep
        )
        async with client:
            lossy.lose_next_post = True
            made = await client.create(VENDORS, {"erp_reference_id": "50001", "name": "Lost AB"})
        assert made.name == "Lost AB"
        assert await r.creates("vendors") == {"50001": 1}
        # the look-up reads its page and the empty page after it; no second POST
        assert [q.method for q in r.transport.requests] == ["POST", "GET", "GET"]


async def test_upserts_under_ten_percent_injected_429_and_5xx_write_each_record_once(
    tmp_path: Path,
) -> None:
    """The acceptance's fault rate from the client's side: 40 vendors and their 40 bills,
    each found-or-created as the airbase-sink does, with about one call in ten refused (429)
    or failed (500, 502, 503) at random: every record is made, and made once."""
    async with rig(tmp_path=tmp_path) as r:
        await r.admin("PATCH", "/limits", {"requests_per_hour": 100_000})
        for status, share in ((429, 0.04), (500, 0.03), (502, 0.015), (503, 0.015)):
            rule = {"status": status, "times": None, "probability": share, "retry_after": 2}
            await r.admin("POST", "/faults", rule)
        for number in range(40):
            vendor_ref, invoice_ref = f"{50000 + number}", f"SE1/INV/{1000 + number}"
            if await r.client.find_by_erp_reference(VENDORS, vendor_ref) is None:
                await r.client.create(VENDORS, {"erp_reference_id": vendor_ref, "name": "V"})
            if await r.client.find_by_erp_reference(BILLS, invoice_ref) is None:
                await r.client.create(BILLS, bill_body(invoice_ref, vendor_ref, "100.00"))
        fired = (await r.admin("GET", "/stats"))["faults_fired"]

        assert await r.creates("vendors") == {f"{50000 + n}": 1 for n in range(40)}
        assert await r.creates("bills") == {f"SE1/INV/{1000 + n}": 1 for n in range(40)}
        calls = len(r.transport.requests)
        assert sum(fired.values()) >= calls // 20  # the faults did fire (about 1 in 10)
        assert set(fired) == {"429", "500", "502", "503"}


async def test_a_spent_hourly_budget_is_handed_to_the_caller_and_passes_with_the_hour(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path=tmp_path) as r:
        await r.admin("PATCH", "/limits", {"requests_per_hour": 3})
        for number in range(3):
            await r.client.create(VENDORS, {"erp_reference_id": f"5000{number}", "name": "V"})
        assert r.client.rate_limit.remaining == 0
        with pytest.raises(AirbaseRateLimited) as limited:
            await r.client.get(VENDORS, "1")
        assert limited.value.retry_after is not None
        assert limited.value.retry_after > 120
        assert r.time.slept == []
        r.time.clock.advance(limited.value.retry_after)
        assert await r.client.find_by_erp_reference(VENDORS, "50001") is not None


async def test_a_profile_path_without_its_slash_is_told_apart(tmp_path: Path) -> None:
    async with rig("paths:\n  vendors: /v1/accounting/vendors\n", tmp_path=tmp_path) as r:
        await r.admin("PUT", "/profile", {})
        with pytest.raises(AirbaseRequestError, match=r"301 to .*/vendors/: check the profile"):
            await r.client.find_by_erp_reference(VENDORS, "50001")


async def test_a_wrong_token_or_scheme_is_refused_as_credentials(tmp_path: Path) -> None:
    async with rig(tmp_path=tmp_path) as r:
        r.client.use_token(SecretStr("airbase-demo-token-nobody"))
        with pytest.raises(AirbaseCredentialsRefused, match="Invalid token"):
            await r.client.list(VENDORS).__anext__()
    async with rig("auth_scheme: Bearer\n", tmp_path=tmp_path) as r:
        await r.admin("PUT", "/profile", {"auth_scheme": "Token"})
        with pytest.raises(AirbaseCredentialsRefused, match="not provided"):
            await r.client.get(VENDORS, "1")
