"""POST /webhooks/airbase in process: verify when the tenant has a secret, store once, answer.

Webhooks are signed with the stdlib recipe the contract states (`sha256=` + hex HMAC-SHA256 of
the raw body), not with the route's code; Kafka is a fake sender that records what was stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fake_sender import FakeSender
from memory_vault import MemoryCredentials
from pydantic import SecretStr

from chassis.kafka.producer import ProduceError
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.vault import CredentialVault, KeyRing, MasterKey
from events.airbase import AirbaseWebhookReceived
from ingress.airbase_route import AirbaseSigningSecrets
from ingress.app import create_app
from ingress.config import IngressSettings

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
PATH = "/webhooks/airbase"
SECRET = "whsec-airbase-tenant-se-1-0123456789"
SIGNED_TENANT = "tenant-se-1"
OPEN_TENANT = "tenant-no-1"


def event(event_id: str = "evt_0001", kind: str = "bill_paid", **data: Any) -> bytes:
    body = {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created_date": "2026-03-02T10:00:00Z",
        "data": {"object": "ledger_entry", "airbase_id": 4242, **data},
    }
    return json.dumps(body).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Ingress:
    http: httpx.AsyncClient
    sender: FakeSender
    vault: CredentialVault
    log: MemoryCredentials
    clock: Clock

    async def post(
        self, body: bytes, *, tenant: str | None = SIGNED_TENANT, sign: str | None = SECRET,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:  # fmt: skip
        sent = dict(headers or {})
        if sign is not None:
            sent["X-Airbase-Signature"] = signature(body, sign)
        query = f"?tenant={tenant}" if tenant else ""
        return await self.http.post(PATH + query, content=body, headers=sent)

    def stored(self) -> list[AirbaseWebhookReceived]:
        decoded = [SERDE.decode(s.value) for s in self.sender.sent]
        assert {name for name, _ in decoded} <= {AirbaseWebhookReceived.SCHEMA}
        return [AirbaseWebhookReceived.from_record(record) for _, record in decoded]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def make_ingress() -> Any:
    made: list[Ingress] = []

    def make(sender: FakeSender | None = None, **settings: Any) -> Ingress:
        log = MemoryCredentials()
        ring = KeyRing(MasterKey.generate())
        operator = CredentialVault(log, ring)  # `mlc secrets set`: another process
        operator.put(f"airbase/{SIGNED_TENANT}/webhook-secret", SecretStr(SECRET))
        clock = Clock()
        secrets = AirbaseSigningSecrets(
            vault=lambda: CredentialVault(log, ring), refresh_seconds=5.0, clock=clock
        )
        sender = sender or FakeSender()
        app = create_app(
            settings=IngressSettings(**settings), send=sender, serde=SERDE,
            airbase_secrets=secrets,
        )  # fmt: skip
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://in")
        ingress = Ingress(http, sender, operator, log, clock)
        made.append(ingress)
        return ingress

    yield make
    for ingress in made:
        await ingress.http.aclose()


async def test_a_signed_webhook_is_stored_keyed_by_tenant_then_acknowledged(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress()
    response = await ingress.post(event())
    assert response.status_code == 200
    assert response.json() == {
        "ok": True, "event_id": "evt_0001", "tenant": SIGNED_TENANT, "duplicate": False,
    }  # fmt: skip
    (sent,) = ingress.sender.sent
    assert (sent.topic, sent.key) == ("airbase.webhook.v1", SIGNED_TENANT)
    (nudge,) = ingress.stored()
    assert (nudge.event_type, nudge.object_type, nudge.object_id) == (
        "bill_paid", "ledger_entry", "4242")  # fmt: skip
    assert nudge.signed is True
    assert nudge.created_date == "2026-03-02T10:00:00Z"


@pytest.mark.parametrize(
    ("sign", "headers", "why"),
    [
        (None, None, "unsigned"),
        ("another-secret-entirely-000000000000", None, "does not match"),
        (None, {"X-Airbase-Signature": "sha256=" + "0" * 64}, "does not match"),
        (None, {"X-Airbase-Signature": "md5=abc"}, "does not match"),
        (None, {"X-Airbase-Signature": "sha256=" + "a" * 5000}, "does not match"),
    ],
    ids=["missing", "wrong-secret", "wrong-digest", "wrong-prefix", "huge"],
)
async def test_a_tenant_with_a_secret_refuses_a_missing_or_wrong_signature_with_401(
    make_ingress: Callable[..., Ingress], sign: str | None, headers: dict[str, str] | None,
    why: str,
) -> None:  # fmt: skip
    ingress = make_ingress()
    response = await ingress.post(event(), sign=sign, headers=headers)
    assert response.status_code == 401
    assert why in response.json()["error"]
    assert ingress.sender.calls == 0


async def test_a_body_changed_after_signing_is_refused(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress()
    body = event()
    tampered = body.replace(b"4242", b"4243")
    response = await ingress.http.post(
        f"{PATH}?tenant={SIGNED_TENANT}", content=tampered,
        headers={"X-Airbase-Signature": signature(body)},
    )  # fmt: skip
    assert response.status_code == 401
    assert ingress.sender.calls == 0


async def test_a_tenant_without_a_secret_has_its_webhooks_taken_unsigned(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress()
    response = await ingress.post(event("evt_open"), tenant=OPEN_TENANT, sign=None)
    assert response.status_code == 200
    (nudge,) = ingress.stored()
    assert (nudge.tenant_id, nudge.signed) == (OPEN_TENANT, False)


async def test_a_secret_set_or_rotated_while_running_is_used_without_a_restart(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress()
    assert (await ingress.post(event("evt_a"), tenant=OPEN_TENANT, sign=None)).status_code == 200
    ingress.vault.put(f"airbase/{OPEN_TENANT}/webhook-secret", SecretStr("new-secret-for-no-1"))
    ingress.clock.now += 5
    assert (await ingress.post(event("evt_b"), tenant=OPEN_TENANT, sign=None)).status_code == 401
    signed = await ingress.post(event("evt_c"), tenant=OPEN_TENANT, sign="new-secret-for-no-1")
    assert signed.status_code == 200
    ingress.vault.put(f"airbase/{SIGNED_TENANT}/webhook-secret", SecretStr("rotated-se-1"))
    ingress.clock.now += 5
    assert (await ingress.post(event("evt_d"), sign="rotated-se-1")).status_code == 200
    assert [(n.event_id, n.signed) for n in ingress.stored()] == [
        ("evt_a", False), ("evt_c", True), ("evt_d", True)]  # fmt: skip


async def test_forged_webhooks_read_the_vault_at_most_once_per_interval(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress()
    for n in range(30):
        forged = await ingress.post(event(f"evt_f{n}"), sign="forged-secret-000000")
        assert forged.status_code == 401
    for n in range(30):  # unsigned, for a tenant with no secret: taken, no storm of reads
        assert (await ingress.post(event(f"evt_u{n}"), tenant=OPEN_TENANT, sign=None)).is_success
    assert ingress.log.reads == 1
    assert len(ingress.stored()) == 30


async def test_a_redelivered_event_is_acknowledged_without_a_second_record(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress()
    first = await ingress.post(event("evt_dup"))
    again = await ingress.post(event("evt_dup"))
    other_tenant = await ingress.post(event("evt_dup"), tenant=OPEN_TENANT, sign=None)
    assert [r.json()["duplicate"] for r in (first, again, other_tenant)] == [False, True, False]
    assert [(n.tenant_id, n.event_id) for n in ingress.stored()] == [
        (SIGNED_TENANT, "evt_dup"), (OPEN_TENANT, "evt_dup")]  # fmt: skip


async def test_a_webhook_kafka_did_not_confirm_is_a_503_and_its_redelivery_is_stored(
    make_ingress: Callable[..., Ingress],
) -> None:
    failures = [ProduceError("broker down")]

    async def fail_once() -> None:
        if failures:
            raise failures.pop()

    ingress = make_ingress(FakeSender(behaviour=fail_once))
    assert (await ingress.post(event())).status_code == 503
    assert ingress.sender.sent == []
    retried = await ingress.post(event())
    assert (retried.status_code, retried.json()["duplicate"]) == (200, False)
    assert len(ingress.stored()) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (json.dumps({"type": "bill_paid"}).encode(), "id"),
        (json.dumps({"id": "evt_1"}).encode(), "type"),
        (json.dumps({"id": "e" * 300, "type": "bill_paid"}).encode(), "id"),
        (json.dumps({"id": "evt_1", "type": "x", "data": {"airbase_id": [1]}}).encode(),
         "object_id"),
    ],
    ids=["not-json", "not-object", "no-id", "no-type", "long-id", "odd-object-id"],
)  # fmt: skip
async def test_a_malformed_body_is_a_400_naming_the_field(
    make_ingress: Callable[..., Ingress], body: bytes, field: str
) -> None:
    ingress = make_ingress()
    response = await ingress.post(body, tenant=OPEN_TENANT, sign=None)
    assert response.status_code == 400
    assert field in response.json()["error"]
    assert ingress.sender.calls == 0


async def test_the_tenant_comes_from_the_url_or_the_default(
    make_ingress: Callable[..., Ingress],
) -> None:
    without = make_ingress()
    response = await without.post(event(), tenant=None, sign=None)
    assert (response.status_code, "tenant" in response.json()["error"]) == (400, True)
    defaulted = make_ingress(airbase_default_tenant=SIGNED_TENANT)
    assert (await defaulted.post(event(), tenant=None)).status_code == 200
    assert (await defaulted.post(event("evt_2"), tenant=None, sign=None)).status_code == 401
    assert [n.tenant_id for n in defaulted.stored()] == [SIGNED_TENANT]


async def test_a_body_over_the_limit_is_a_413_before_anything_is_stored(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress(max_body_bytes=1024)
    body = event(padding="x" * 2000)
    response = await ingress.post(body)
    assert response.status_code == 413
    assert ingress.sender.calls == 0


async def test_with_a_tenant_list_a_stranger_tenant_is_refused_404(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress(airbase_tenants=[SIGNED_TENANT])
    stranger = await ingress.post(event("evt_x"), tenant="made-up-tenant", sign=None)
    assert stranger.status_code == 404
    assert (await ingress.post(event("evt_y"))).status_code == 200
    assert [n.tenant_id for n in ingress.stored()] == [SIGNED_TENANT]
