"""The BILL sandbox's signed deliveries in front of POST /webhooks/bill, in process.

The sandbox subscribes (its securityKey returned once and kept in the vault, sealed, as
`mlc bill subscribe` keeps it), a BILL user changes vendors and bills, and the sandbox POSTs
each event signed over the exact bytes it sends. A gate between the two records every
delivery and can refuse one, so a test holds a real delivery and replays it later, forges it
or strips its signature. Kafka is a fake sender; the ingress's clock, which decides when a
rotation's overlap ends, is moved by the test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fake_sender import FakeSender
from memory_vault import MemoryCredentials
from pydantic import SecretStr

from chassis.kafka.producer import ProduceError
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.vault import CredentialVault, KeyRing, MasterKey
from events.bill import BillBillChanged, BillVendorChanged
from ingress.app import create_app as create_ingress
from ingress.bill_keys import BillSecurityKeys, store_keys
from ingress.bill_route import BillKeys
from ingress.config import IngressSettings
from sandbox import SandboxConfig
from sandbox import create_app as create_sandbox
from sandbox.bill.config import DEMO_DEV_KEY, DEMO_ORGANIZATION_ID, DEMO_PASSWORD, DEMO_USERNAME

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
ORG = DEMO_ORGANIZATION_ID
TENANT = "tenant-dk-1"
HOOK_URL = "https://connector.example/webhooks/bill"
API = "/bill/connect/v3"
EVENTS_API = "/bill/connect-events/v3"
ADMIN = "/bill/_sandbox"
EVENTS = ["vendor.created", "vendor.updated", "bill.created", "bill.updated", "bill.archived"]
NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


def sign(key: str, body: bytes) -> str:
    """BILL's documented recipe, with the stdlib: base64(HMAC-SHA256(securityKey, body))."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]

    @property
    def event_type(self) -> str:
        return str(json.loads(self.body)["metadata"]["eventType"])


@dataclass
class Gate(httpx.AsyncBaseTransport):
    """Between the sandbox and the ingress: records every delivery; while `holding`, answers
    503 instead of passing it on (the sandbox in `once` mode then gives up on it)."""

    ingress: httpx.AsyncBaseTransport
    holding: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.deliveries.append(Delivery(body, dict(request.headers)))
        if self.holding:
            self.answers.append(503)
            return httpx.Response(503)
        response = await self.ingress.handle_async_request(request)
        self.answers.append(response.status_code)
        return response


@dataclass
class Rig:
    sandbox: httpx.AsyncClient
    ingress: httpx.AsyncClient
    gate: Gate
    sender: FakeSender
    vault: CredentialVault
    clock: list[datetime]
    headers: dict[str, str] = field(default_factory=dict)
    subscription_id: str = ""
    key: str = ""

    async def subscribe(self) -> None:
        login = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD,
                 "organizationId": ORG, "devKey": DEMO_DEV_KEY}  # fmt: skip
        session = (await self.sandbox.post(f"{API}/login", json=login)).json()["sessionId"]
        self.headers = {"devKey": DEMO_DEV_KEY, "sessionId": session}
        body = {"name": "ml-connector", "status": {"enabled": True}, "notificationUrl": HOOK_URL,
                "events": [{"type": t, "version": "1"} for t in EVENTS]}  # fmt: skip
        created = await self.sandbox.post(
            f"{EVENTS_API}/subscriptions", json=body,
            headers={**self.headers, "X-Idempotent-Key": str(uuid.uuid4())},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        self.subscription_id, self.key = created.json()["id"], created.json()["securityKey"]
        store_keys(self.vault, BillSecurityKeys(
            subscription_id=self.subscription_id, organization_id=ORG, tenant_id=TENANT,
            current=SecretStr(self.key)))  # fmt: skip

    async def rotate(self, overlap: timedelta) -> str:
        """BILL rotates the key; the vault keeps the old one for `overlap` from now."""
        url = f"{EVENTS_API}/subscriptions/{self.subscription_id}/security-key"
        new_key = str((await self.sandbox.post(url, headers=self.headers)).json()["securityKey"])
        self.vault.load()
        held = BillSecurityKeys.unsealed(
            "keys", self.vault.get(f"bill/subscriptions/{self.subscription_id}/security-keys")
        )
        store_keys(self.vault, held.rotated(SecretStr(new_key), now=self.clock[0],
                                            overlap=overlap))  # fmt: skip
        self.key = new_key
        return new_key

    async def vendor(self, name: str) -> dict[str, Any]:
        answer = await self.sandbox.post(
            f"{ADMIN}/organizations/{ORG}/vendors", json={"name": name, "taxId": "DK11223344"}
        )
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def bill(self, vendor_id: str, number: str) -> dict[str, Any]:
        body = {
            "vendorId": vendor_id,
            "invoice": {"invoiceNumber": number, "invoiceDate": "2026-03-01"},
            "dueDate": "2026-03-31",
            "billLineItems": [{"amount": 1250.5, "description": "Kontorartikler",
                               "classifications": {"chartOfAccountId": "0ca01GL4000",
                                                   "departmentId": "0de01CC10"}}],
        }  # fmt: skip
        answer = await self.sandbox.post(f"{ADMIN}/organizations/{ORG}/bills", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def drain(self) -> None:
        assert (await self.sandbox.post(f"{ADMIN}/webhooks/drain")).is_success

    async def switch(self, **settings: Any) -> None:
        assert (await self.sandbox.patch(f"{ADMIN}/webhooks", json=settings)).is_success

    async def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """A delivery straight to the ingress, as a sender (or an attacker) would make it."""
        return await self.ingress.post("/webhooks/bill", content=body, headers=headers)

    def stored(self) -> list[tuple[str, str | None, BillVendorChanged | BillBillChanged]]:
        facts: list[tuple[str, str | None, BillVendorChanged | BillBillChanged]] = []
        for sent in self.sender.sent:
            name, record = SERDE.decode(sent.value)
            model = BillVendorChanged if name == BillVendorChanged.SCHEMA else BillBillChanged
            facts.append((sent.topic, sent.key, model.from_record(record)))
        return facts


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    sender = FakeSender()
    log = MemoryCredentials()
    ring = KeyRing(MasterKey.generate())
    clock = [NOW]
    ingress_app = create_ingress(
        settings=IngressSettings(),
        send=sender,
        serde=SERDE,
        # the ingress's own vault view, read again when a signature fails the keys it holds
        bill_keys=BillKeys(vault=lambda: CredentialVault(log, ring), refresh_seconds=0),
        bill_clock=lambda: clock[0],
    )
    gate = Gate(httpx.ASGITransport(app=ingress_app))
    config = SandboxConfig.model_validate({
        "clock_speed": 6000, "clock_start": NOW,
        "bill": {"session_idle_seconds": 10**9,
                 "webhooks": {"mode": "once", "retry_delays_seconds": [60, 120]}}})  # fmt: skip
    async with (
        httpx.AsyncClient(transport=gate) as to_ingress,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_sandbox(config, webhook_client=to_ingress)),
            base_url="http://sandbox",
        ) as sandbox,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=ingress_app), base_url="http://in"
        ) as ingress,
    ):
        rig = Rig(sandbox, ingress, gate, sender, CredentialVault(log, ring), clock)
        await rig.subscribe()
        yield rig


async def test_signed_vendor_and_bill_events_reach_kafka_as_facts(rig: Rig) -> None:
    vendor = await rig.vendor("Kystlys Tømrer A/S")
    await rig.drain()  # the sandbox delivers concurrently: one at a time, for a known order
    bill = await rig.bill(vendor["id"], "F-2026-118")
    await rig.drain()

    assert rig.gate.answers == [200, 200]
    [(vendor_topic, vendor_key, vendor_fact), (bill_topic, bill_key, bill_fact)] = rig.stored()
    assert (vendor_topic, vendor_key) == ("bill.vendor.v1", f"{ORG}/{vendor['id']}")
    assert (bill_topic, bill_key) == ("bill.bill.v1", f"{ORG}/{bill['id']}")
    assert isinstance(vendor_fact, BillVendorChanged)
    assert isinstance(bill_fact, BillBillChanged)
    assert (vendor_fact.tenant_id, vendor_fact.change, vendor_fact.source) == (
        TENANT, "created", "webhook",
    )  # fmt: skip
    assert (vendor_fact.name, vendor_fact.tax_id) == ("Kystlys Tømrer A/S", "DK11223344")
    delivered_ids = [json.loads(d.body)["metadata"]["eventId"] for d in rig.gate.deliveries]
    assert [vendor_fact.event_id, bill_fact.event_id] == delivered_ids
    assert (bill_fact.vendor_id, bill_fact.invoice_number) == (vendor["id"], "F-2026-118")
    [line] = bill_fact.lines
    assert (line.amount, line.chart_of_account_id, line.department_id) == (
        Decimal("1250.5"), "0ca01GL4000", "0de01CC10",
    )  # fmt: skip
    assert bill_fact.updated_time == datetime.fromisoformat(bill["updatedTime"])


async def test_a_replayed_delivery_is_acknowledged_and_stored_once(rig: Rig) -> None:
    await rig.vendor("Fjordlys Rengøring ApS")
    await rig.drain()
    [delivery] = rig.gate.deliveries

    replays = [await rig.post(delivery.body, delivery.headers) for _ in range(3)]

    assert [r.status_code for r in replays] == [200, 200, 200]
    assert all(r.json()["duplicate"] for r in replays)
    assert len(rig.sender.sent) == 1


async def test_forged_and_unsigned_deliveries_are_refused_and_never_stored(rig: Rig) -> None:
    rig.gate.holding = True  # real deliveries, kept from the ingress until the test sends them
    await rig.vendor("Havblik Revision ApS")
    await rig.drain()
    [delivery] = rig.gate.deliveries
    signature = delivery.headers["x-bill-sha-signature"]
    tampered = delivery.body.replace(b"Havblik", b"Hacklik")
    unsigned = {k: v for k, v in delivery.headers.items() if k != "x-bill-sha-signature"}
    other_subscription = delivery.body.replace(rig.subscription_id.encode(), b"SUB-FORGED-1")

    answers = {
        "tampered body": await rig.post(tampered, delivery.headers),
        "unsigned": await rig.post(delivery.body, unsigned),
        "empty signature": await rig.post(delivery.body, {**unsigned, "x-bill-sha-signature": ""}),
        "not base64": await rig.post(delivery.body, {**unsigned, "x-bill-sha-signature": "%%%"}),
        "another key": await rig.post(
            delivery.body, {**unsigned, "x-bill-sha-signature": sign("not-the-key", delivery.body)}
        ),
        "unknown subscription": await rig.post(other_subscription, {
            **unsigned, "x-bill-sha-signature": sign(rig.key, other_subscription)}),
    }  # fmt: skip

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 401)
    assert rig.sender.calls == 0
    # the untouched delivery with its own signature is the one that is taken
    assert (
        await rig.post(delivery.body, {**unsigned, "x-bill-sha-signature": signature})
    ).is_success
    assert len(rig.sender.sent) == 1


async def test_during_a_rotation_both_keys_verify_and_after_it_only_the_new_one(rig: Rig) -> None:
    vendor = await rig.vendor("Nordlys Kontor ApS")
    await rig.drain()
    rig.gate.holding = True
    await rig.bill(vendor["id"], "F-1")  # signed with the first key, held
    await rig.bill(vendor["id"], "F-2")  # signed with the first key, held
    await rig.drain()
    old_key_deliveries = rig.gate.deliveries[1:]

    await rig.rotate(overlap=timedelta(hours=1))
    rig.gate.holding = False
    await rig.bill(vendor["id"], "F-3")  # signed with the new key: the ingress reads the vault
    await rig.drain()
    rig.clock[0] = NOW + timedelta(minutes=59)
    within_overlap = await rig.post(old_key_deliveries[0].body, old_key_deliveries[0].headers)
    rig.clock[0] = NOW + timedelta(hours=1)
    after_overlap = await rig.post(old_key_deliveries[1].body, old_key_deliveries[1].headers)

    assert rig.gate.answers[-1] == 200
    assert within_overlap.status_code == 200
    assert after_overlap.status_code == 401
    numbers = [f.invoice_number for _, _, f in rig.stored() if isinstance(f, BillBillChanged)]
    assert numbers == ["F-3", "F-1"]


async def test_an_event_is_acknowledged_only_once_kafka_confirmed_it(rig: Rig) -> None:
    failures = [ProduceError("broker unavailable")]

    async def first_send_fails() -> None:
        if failures:
            raise failures.pop()

    rig.sender.behaviour = first_send_fails
    await rig.switch(mode="retry")
    await rig.vendor("Skovbryn Transport A/S")
    await rig.drain()

    assert rig.gate.answers == [503, 200]
    assert len(rig.sender.sent) == 1


async def test_other_event_types_are_acknowledged_without_a_record(rig: Rig) -> None:
    body = json.dumps({
        "metadata": {"eventId": "e-pay-1", "subscriptionId": rig.subscription_id,
                     "organizationId": ORG, "eventType": "payment.updated", "version": "1"},
        "payment": {"id": "0pa01"}}, separators=(",", ":")).encode()  # fmt: skip

    answer = await rig.post(body, {"x-bill-sha-signature": sign(rig.key, body)})

    assert (answer.status_code, answer.json()["ignored"]) == (200, "payment.updated")
    assert rig.sender.calls == 0


def signed_bill(rig: Rig, **bill: Any) -> tuple[bytes, dict[str, str]]:
    record = {
        "id": "00n01BOUNDS000000001", "vendorId": "00901V", "archived": False,
        "createdTime": "2026-03-02T10:00:00.000+00:00",
        "updatedTime": "2026-03-02T10:00:00.000+00:00",
        "invoice": {"invoiceNumber": "F-9", "invoiceDate": "2026-03-01"},
        "amount": 10, "billLineItems": [{"amount": 10}],
    } | bill  # fmt: skip
    metadata = {"eventId": str(uuid.uuid4()), "subscriptionId": rig.subscription_id,
                "organizationId": ORG, "eventType": "bill.updated", "version": "1"}  # fmt: skip
    body = json.dumps({"metadata": metadata, "bill": record}).encode()
    return body, {"x-bill-sha-signature": sign(rig.key, body)}


@pytest.mark.parametrize(
    ("bill", "named"),
    [
        ({"billLineItems": [{"amount": 1, "description": "x" * 5000}]}, "bill.lines.0.description"),
        ({"amount": 10**16}, "bill.amount"),
        ({"billLineItems": [{"amount": 1}] * 1001}, "bill.lines"),
        ({"invoice": {"invoiceDate": "2026-03-01"}}, "invoice_number"),
        ({"updatedTime": "not a time"}, "updated_time"),
    ],
)
async def test_signed_but_unbounded_or_malformed_fields_are_a_400_naming_the_field(
    rig: Rig, bill: dict[str, Any], named: str
) -> None:
    body, headers = signed_bill(rig, **bill)

    answer = await rig.post(body, headers)

    assert answer.status_code == 400
    assert named in answer.json()["error"]
    assert "xxxx" not in answer.text
    assert rig.sender.calls == 0


async def test_an_event_of_another_organization_than_its_subscription_is_refused(rig: Rig) -> None:
    body, _ = signed_bill(rig)
    body = body.replace(ORG.encode(), b"00801OTHERORG0000001")

    answer = await rig.post(body, {"x-bill-sha-signature": sign(rig.key, body)})

    assert answer.status_code == 401
    assert rig.sender.calls == 0
