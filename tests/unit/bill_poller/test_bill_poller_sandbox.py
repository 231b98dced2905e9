"""The BILL poller against the BILL sandbox through the real `BillClient`: the facts it makes
of what BILL holds, a crash between pages, records changed while it pages, and a subscription
BILL disabled. The sandbox runs in-process on a frozen clock that the test moves; Kafka is a
recorder of transactions (the real broker is the integration test's)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from bill_client import BillClient, BillCredentials
from bill_poller.cycle import BillPoller
from bill_poller.facts import PolledFacts
from bill_poller.poller import Organization, OrganizationPoller
from chassis.audit import AUDIT_TOPIC, AuditTrail
from chassis.delta_cursor import Cursor
from chassis.kafka.poll_cursors import decode_poll_cursor
from chassis.kafka.transactions import Outgoing
from chassis.serde import AvroSerde, SchemaCatalog
from sandbox import SandboxConfig, create_app
from sandbox.bill.config import DEMO_DEV_KEY, DEMO_ORGANIZATION_ID, DEMO_PASSWORD, DEMO_USERNAME

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
ORG = DEMO_ORGANIZATION_ID
SANDBOX = "http://sandbox/bill"
CURSORS = "state.poll-cursor.v1"
TOPICS = {"vendor": "bill.vendor.v1", "bill": "bill.bill.v1"}
START = datetime(2026, 3, 2, 10, tzinfo=UTC)
AUDIT = AuditTrail(service="bill-poller", serde=SERDE, publish=lambda key, value: None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Crash(Exception):
    """The process died before the transaction committed."""


@dataclass
class Kafka:
    committed: list[Outgoing] = field(default_factory=list)
    transactions: int = 0
    crash_at: int | None = None

    async def publish(self, records: list[Outgoing]) -> None:
        self.transactions += 1
        if self.transactions == self.crash_at:
            raise Crash
        self.committed.extend(records)

    def facts(self, entity: str) -> list[dict[str, Any]]:
        topic = TOPICS[entity]
        return [SERDE.decode(v)[1] | {"key": k} for t, k, v in self.committed if t == topic]

    def cursors(self) -> dict[str, Cursor]:
        last = {k: v for t, k, v in self.committed if t == CURSORS}
        return {k: decode_poll_cursor(SERDE, v) for k, v in last.items()}


class AfterListPage(httpx.AsyncBaseTransport):
    """The sandbox, with `meanwhile` run once after the `nth` list page BILL answered."""

    def __init__(self, app: FastAPI, *, nth: int, meanwhile: Callable[[], Any]) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._nth, self._meanwhile, self._pages = nth, meanwhile, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self._inner.handle_async_request(request)
        if request.method == "GET" and request.url.path.endswith(("/vendors", "/bills")):
            self._pages += 1
            if self._pages == self._nth:
                await self._meanwhile()
        return answer


@dataclass
class Bill:
    app: FastAPI

    @property
    def clock(self) -> Any:
        return self.app.state.sandbox.clock

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=SANDBOX) as admin:
            answer = await admin.request(method, f"/_sandbox{path}", json=body)
        assert answer.is_success, answer.text
        return answer.json() if answer.content else None

    async def vendor(self, name: str) -> str:
        self.clock.advance(1)
        made = await self.admin("POST", f"/organizations/{ORG}/vendors",
                                {"name": name, "email": f"{name}@x.example"})  # fmt: skip
        return str(made["id"])

    async def entered_bill(self, vendor_id: str, number: str, amount: float) -> str:
        self.clock.advance(1)
        made = await self.admin("POST", f"/organizations/{ORG}/bills", {
            "vendorId": vendor_id,
            "invoice": {"invoiceNumber": number, "invoiceDate": "2026-03-01"},
            "dueDate": "2026-03-31",
            "billLineItems": [{"amount": amount, "description": "goods", "classifications":
                               {"chartOfAccountId": "0ca01", "departmentId": "0de01"}}],
        })  # fmt: skip
        return str(made["id"])

    async def rename(self, vendor_id: str, name: str) -> None:
        self.clock.advance(1)
        await self.admin("PATCH", f"/organizations/{ORG}/vendors/{vendor_id}", {"name": name})

    async def versions(self, entity: str) -> set[str]:
        records = await self.admin("GET", f"/organizations/{ORG}/{entity}s")
        return {f"{r['id']}@{_millis(r['updatedTime'])}" for r in records}

    def client(self, transport: httpx.AsyncBaseTransport | None = None) -> BillClient:
        credentials = BillCredentials(
            username=DEMO_USERNAME, password=SecretStr(DEMO_PASSWORD),
            dev_key=SecretStr(DEMO_DEV_KEY), organization_id=ORG,
        )  # fmt: skip
        return BillClient(
            credentials, base_url=f"{SANDBOX}/connect/v3",
            events_base_url=f"{SANDBOX}/connect-events/v3",
            transport=transport or httpx.ASGITransport(app=self.app),
            clock=self.clock.time, sleep=self._sleep, rng=random.Random(3),
        )  # fmt: skip

    async def _sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)


def _millis(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def published(kafka: Kafka, entity: str) -> list[str]:
    return [f"{f['key'].split('/')[1]}@{int(f['updated_time'].timestamp() * 1000)}"
            for f in kafka.facts(entity)]  # fmt: skip


@pytest.fixture
def bill() -> Bill:
    config = SandboxConfig.model_validate({"clock_speed": 0, "clock_start": START})
    return Bill(create_app(config))


@pytest.fixture
async def client(bill: Bill) -> AsyncIterator[BillClient]:
    async with bill.client() as opened:
        yield opened


class Unlimited:
    async def acquire(self) -> None:
        return None


def poller(
    bill: Bill, client: BillClient, kafka: Kafka, *, page_size: int = 100
) -> OrganizationPoller:
    return OrganizationPoller(
        organization=Organization("tenant-dk-1", ORG), source=client, transactions=kafka,
        encoder=PolledFacts(SERDE, topics=TOPICS, audit=AUDIT, clock=bill.clock.now), serde=SERDE,
        cursor_topic=CURSORS, cursors=kafka.cursors(), budget=Unlimited(),
        overlap=timedelta(minutes=5), page_size=page_size, now=bill.clock.now,
    )  # fmt: skip


async def test_the_facts_are_what_bill_holds(bill: Bill, client: BillClient) -> None:
    vendor = await bill.vendor("Nordlys Kaffe ApS")
    bill_id = await bill.entered_bill(vendor, "INV-7", 1250.5)
    kafka = Kafka()
    assert await BillPoller([poller(bill, client, kafka)]).run_once() is not None
    (vendor_fact,) = kafka.facts("vendor")
    (bill_fact,) = kafka.facts("bill")
    assert vendor_fact["key"] == f"{ORG}/{vendor}"
    assert vendor_fact["name"] == "Nordlys Kaffe ApS"
    assert vendor_fact["source"] == "poll"
    assert vendor_fact["change"] == "created"
    assert bill_fact["key"] == f"{ORG}/{bill_id}"
    assert bill_fact["vendor_id"] == vendor
    assert bill_fact["invoice_number"] == "INV-7"
    assert bill_fact["amount"] == Decimal("1250.5")
    assert bill_fact["tenant_id"] == "tenant-dk-1"
    audits = [SERDE.decode(v)[1] for t, _, v in kafka.committed if t == AUDIT_TOPIC.name]
    assert [(a["stage"], a["entity_id"]) for a in audits] == [
        ("read", f"{ORG}/{vendor}"), ("read", f"{ORG}/{bill_id}")]  # fmt: skip
    stamp = bill_fact["updated_time"].isoformat(timespec="milliseconds")
    assert audits[1]["event_id"] == f"{ORG}/{bill_id}@{stamp}"  # the fact's version_id


async def test_a_crash_between_pages_repeats_and_loses_nothing(
    bill: Bill, client: BillClient
) -> None:
    vendors = [await bill.vendor(f"Vendor {n:03}") for n in range(23)]
    kafka = Kafka(crash_at=3)
    with pytest.raises(Crash):
        await poller(bill, client, kafka, page_size=5).poll("vendor")
    assert len(kafka.facts("vendor")) == 10  # two pages committed, the third lost
    await bill.rename(vendors[0], "Vendor 000 renamed")  # while the poller was down
    await bill.rename(vendors[20], "Vendor 020 renamed")
    kafka.crash_at = None
    async with bill.client() as restarted:
        await poller(bill, restarted, kafka, page_size=5).poll("vendor")
    events = published(kafka, "vendor")
    assert len(events) == len(set(events)), "a version published twice"
    assert await bill.versions("vendor") <= set(events), "a version lost"


async def test_records_changed_while_paging_are_all_published(bill: Bill) -> None:
    vendors = [await bill.vendor(f"Vendor {n:03}") for n in range(230)]

    async def meanwhile() -> None:
        await bill.rename(vendors[5], "read already, changed")
        await bill.rename(vendors[150], "not read yet, changed")
        await bill.rename(vendors[229], "last, changed")
        await bill.vendor("created while paging")

    kafka = Kafka()
    transport = AfterListPage(bill.app, nth=1, meanwhile=meanwhile)
    async with bill.client(transport) as client:
        polls = poller(bill, client, kafka)
        await polls.poll("vendor")
        bill.clock.advance(60)
        await polls.poll("vendor")
    events = published(kafka, "vendor")
    assert len(events) == len(set(events))
    assert await bill.versions("vendor") <= set(events)
    # 230 vendors, vendors[5] again at its new version, the new one; vendors[150] and
    # [229] were changed before the poll reached them: read once, at their new version
    assert len(events) == 230 + 1 + 1


async def test_a_subscription_bill_disabled_is_reenabled(bill: Bill, client: BillClient) -> None:
    await bill.admin("PATCH", "/webhooks", {"mode": "once"})
    subscription, _key = await client.create_subscription(
        name="mlc", url="http://127.0.0.1:9/webhooks/bill", events=["vendor.created"],
        idempotency_key="6f1c1a52-5a8e-4b0e-9d3c-0c6f8d2b1e11",
    )  # fmt: skip
    await bill.admin("POST", f"/subscriptions/{subscription.id}/disable")
    assert not (await client.subscription(subscription.id)).enabled
    await bill.vendor("Polled while disabled")
    kafka = Kafka()
    result = await BillPoller([poller(bill, client, kafka)]).run_once()
    assert (await client.subscription(subscription.id)).enabled
    assert result.published == 1
