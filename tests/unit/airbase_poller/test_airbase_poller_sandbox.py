"""The Airbase poller against the Airbase sandbox through the real `AirbaseClient`: bills the
ERP pushed, approved and paid by an approver, become facts with the bill's Visma invoice key,
the GL account and the cost center; marked-synced entries leave, new payments come; the same
flow with a non-default profile (paths and field names) on both sides; and the hourly budget.
The sandbox runs in-process on a stopped clock; Kafka is a recorder of transactions (the real
broker is the SIGKILL integration test's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from airbase_client import AirbaseClient, AirbaseProfile
from airbase_poller.allowance import CallAllowance, CountingTransport
from airbase_poller.pull import PollerTopics, Tenant, TenantPuller
from airbase_poller.schedule import TenantSchedule
from airbase_poller.source import ClientSource
from chassis.audit import AuditTrail
from chassis.kafka.transactions import Outgoing
from chassis.serde import AvroSerde, SchemaCatalog
from events.airbase import AirbasePaymentReady
from events.airbase_polls import AirbasePolledEntry
from sandbox import SandboxConfig, create_app

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
TENANT = Tenant("tenant-se-1", "1234567")
TOKEN = SecretStr("airbase-demo-token-tenant-se-1")
TOPICS = PollerTopics(payments="airbase.payment.v1", memory="state.airbase-poller.v1",
                      audit="audit.v1")  # fmt: skip
ADMIN = "/airbase/_sandbox"
PROFILE = {
    "auth_scheme": "Bearer",
    "paths": {"ledger_entries": "/v2/ledger/", "bills": "/v2/payables/bills/"},
    "fields": {"erp_reference_id": "external_id", "expense_list": "lines"},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Kafka:
    committed: list[list[Outgoing]] = field(default_factory=list)

    async def publish(self, records: list[Outgoing]) -> None:
        self.committed.append(list(records))

    def facts(self) -> list[AirbasePaymentReady]:
        return [
            AirbasePaymentReady.from_record(SERDE.decode(value)[1])
            for batch in self.committed
            for topic, _, value in batch
            if topic == TOPICS.payments
        ]


@dataclass
class World:
    http: httpx.AsyncClient
    """The sandbox as an operator or approver reaches it (no profile: the admin routes)."""
    client: AirbaseClient
    counter: CountingTransport
    kafka: Kafka
    transport: httpx.ASGITransport
    """The sandbox app, for a second client."""
    memory: dict[str, AirbasePolledEntry]

    def puller(self, **kw: Any) -> TenantPuller:
        return TenantPuller(
            tenant=TENANT, source=ClientSource(self.client, self.counter), transactions=self.kafka,
            serde=SERDE, audit=AuditTrail(service="t", serde=SERDE, publish=lambda k, v: None),
            topics=TOPICS, memory=self.memory, **kw,
        )  # fmt: skip

    async def paid_bill(self, n: int, *, amounts: tuple[str, ...] = ("100.00", "25.50")) -> str:
        """Vendor, bill, approval and payment as the ERP and an approver make them: the entry."""
        await self.client.create("vendors", {"name": f"Vendor {n}", "erp_reference_id": f"V{n}"})
        bill = await self.client.create("bills", {
            "erp_reference_id": f"INV-{n:03}", "vendor": {"erp_reference_id": f"V{n}"},
            "invoice_number": f"SUP-{n}", "currency": {"iso_code": "SEK"},
            "total_amount": str(sum(Decimal(a) for a in amounts)), "entry_date": "2026-03-01",
            "due_date": "2026-03-31",
            "expense_list": [
                {"line_number": i, "account": {"erp_reference_id": f"40{i}0"}, "amount": a,
                 "description": f"line {i}",
                 "tags": [{"type": "department", "erp_reference_id": f"CC{i}", "name": "x"}]}
                for i, a in enumerate(amounts, 1)
            ],
        })  # fmt: skip
        approved = await self.http.post(f"{ADMIN}/bills/{bill.airbase_id}/approve")
        assert approved.status_code == 200, approved.text
        paid = await self.http.post(f"{ADMIN}/bills/{bill.airbase_id}/pay")
        assert paid.status_code == 201, paid.text
        return str(paid.json()["airbase_id"])


async def world(profile: dict[str, Any] | None = None) -> AsyncIterator[World]:
    app: FastAPI = create_app(SandboxConfig.model_validate({"clock_speed": 0}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        if profile is not None:
            switched = await http.put(f"{ADMIN}/profile", json=profile)
            assert switched.status_code == 200, switched.text
        counter = CountingTransport(transport)
        client = AirbaseClient(
            "http://sandbox/airbase", TOKEN, AirbaseProfile.model_validate(profile or {}),
            transport=counter,
        )  # fmt: skip
        async with client:
            yield World(http, client, counter, Kafka(), transport, {})


@pytest.fixture(params=["default-profile", "renamed-profile"])
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async for w in world(None if request.param == "default-profile" else PROFILE):
        yield w


async def test_paid_bills_become_facts_with_the_invoice_key_account_and_cost_center(
    sandbox: World,
) -> None:
    entries = [await sandbox.paid_bill(n) for n in range(1, 4)]
    result = await sandbox.puller().pull("poll")
    assert (result.listed, result.published) == (3, 3)
    facts = {f.entry_id: f for f in sandbox.kafka.facts()}
    assert sorted(facts) == sorted(entries)
    first = facts[entries[0]]
    assert (first.vendor_ref, first.bill_ref, first.invoice_number) == ("V1", "INV-001", "SUP-1")
    assert (first.currency, first.amount, first.entry_type) == ("SEK", Decimal("125.50"),
                                                               "bill_payment")  # fmt: skip
    assert [(x.amount, x.account_ref, x.department_ref) for x in first.lines] == [
        (Decimal("100.00"), "4010", "CC1"), (Decimal("25.50"), "4020", "CC2")]  # fmt: skip
    assert first.bank_account_ref is not None


async def test_entries_marked_synced_leave_and_only_new_payments_are_published(
    sandbox: World,
) -> None:
    first = [await sandbox.paid_bill(n) for n in range(1, 4)]
    await sandbox.puller().pull("poll")
    await sandbox.client.mark_synced(first[0], "PAY-1")
    await sandbox.client.mark_synced(first[1], "PAY-2")
    later = await sandbox.paid_bill(4)
    result = await sandbox.puller().pull("webhook")
    assert (result.listed, result.published) == (2, 1)
    assert [f.entry_id for f in sandbox.kafka.facts()] == [*sorted(first, key=first.index), later]
    assert sandbox.kafka.facts()[-1].via == "webhook"


async def test_the_pull_stops_at_the_reserve_and_finishes_in_the_next_hour() -> None:
    async for w in world():
        for n in range(1, 6):
            await w.paid_bill(n)
        # 5 vendors + 5 bills created: 10 calls spent. 20 allowed: 10 left, 4 kept in reserve.
        assert (await w.http.patch(f"{ADMIN}/limits", json={"requests_per_hour": 20})).is_success
        first = await w.puller(reserve_calls=4).pull("poll")
        # 2 calls to list (one page, the empty one), then bills until 4 remain.
        assert first.budget_stopped
        assert first.published == 4
        assert w.client.rate_limit.remaining == 4
        assert (await w.http.patch(f"{ADMIN}/limits", json={"requests_per_hour": 500})).is_success
        before = w.counter.calls
        rest = await w.puller(reserve_calls=4).pull("poll")
        assert (rest.published, rest.budget_stopped) == (1, False)
        assert w.counter.calls - before == 3  # its cost: two pages (one empty) and one bill
        assert len({f.entry_id for f in w.kafka.facts()}) == len(w.kafka.facts()) == 5


async def test_a_refused_token_holds_its_tenant_until_the_vault_has_another() -> None:
    async for w in world():
        entry = await w.paid_bill(1)
        vault = {"token": SecretStr("airbase-demo-token-revoked")}
        counter = CountingTransport(w.transport)
        async with AirbaseClient(
            "http://sandbox/airbase", vault["token"], transport=counter
        ) as client:
            source = ClientSource(client, counter, token=vault["token"],
                                  read_token=partial(vault.__getitem__, "token"))  # fmt: skip
            puller = TenantPuller(
                tenant=TENANT, source=source, transactions=w.kafka, serde=SERDE,
                audit=AuditTrail(service="t", serde=SERDE, publish=lambda k, v: None),
                topics=TOPICS, memory=w.memory,
            )  # fmt: skip
            schedule = TenantSchedule(puller, every_seconds=1.0, nudge_min_seconds=0.0,
                                      allowance=CallAllowance(1000))  # fmt: skip
            assert await schedule.pull_once("poll") is None  # refused: held, not fatal
            assert await schedule.pull_once("poll") is None  # the vault still has the old one
            vault["token"] = TOKEN  # an operator's `mlc secrets set`
            assert await schedule.pull_once("poll") is None  # refused once more, then renewed
            result = await schedule.pull_once("poll")
        assert result is not None
        assert result.published == 1
        assert [f.entry_id for f in w.kafka.facts()] == [entry]


async def test_a_malformed_entry_is_skipped_and_the_tenants_other_payments_published() -> None:
    """Through the real client on Airbase's recorded list shape: an entry without its amount
    (a typed ledger entry would refuse the whole page) is skipped, the others published."""

    good = {"airbase_id": "le-1", "type": "bill_payment", "status": "sync_ready",
            "vendor": {"erp_reference_id": "V1", "name": "Vendor 1"},
            "applied_to": [{"id": 7, "airbase_id": "b-1", "transaction_type": "bill"}],
            "currency": {"iso_code": "SEK"}, "total_amount": "10.00",
            "payment_entry_date": "2026-03-02", "expense_list": []}  # fmt: skip
    broken = {**good, "airbase_id": "le-2", "total_amount": None}

    def airbase(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1/accounting/bills/"):
            return httpx.Response(200, json={"airbase_id": "b-1", "erp_reference_id": "INV-1"})
        page = int(request.url.params.get("page", "1"))
        rows = [good, broken] if page == 1 else []
        return httpx.Response(200, json={"data": rows, "pagination": {
            "next": None, "previous": None, "page": page, "page_size": 100}})  # fmt: skip

    counter = CountingTransport(httpx.MockTransport(airbase))
    kafka = Kafka()
    async with AirbaseClient("https://api.airbase.io", TOKEN, transport=counter) as client:
        result = await TenantPuller(
            tenant=TENANT, source=ClientSource(client, counter), transactions=kafka,
            serde=SERDE, audit=AuditTrail(service="t", serde=SERDE, publish=lambda k, v: None),
            topics=TOPICS, memory={},
        ).pull("poll")  # fmt: skip
    assert (result.listed, result.published) == (2, 1)
    (fact,) = kafka.facts()
    assert (fact.entry_id, fact.bill_ref) == ("le-1", "INV-1")
