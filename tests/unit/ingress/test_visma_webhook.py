"""The Visma webhook route in process: signatures, parsing, and acknowledging only once stored.

The Kafka side is a fake sender that records what it was given (or fails, or hangs), so
every answer the route gives can be checked against what it tried to store.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fake_sender import FakeSender
from pydantic import SecretStr

from chassis.kafka.producer import ProduceError
from chassis.serde import AvroSerde, SchemaCatalog
from events.notifications import VismaNotificationReceived
from ingress.visma import RejectedNotificationError, expected_signature, verify

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SECRET = "whsec-unit-test-key"
SERDE = AvroSerde(SchemaCatalog.load())
NOTE = {
    "tenantId": "tenant-se-1",
    "companyId": "company-7",
    "entity": "supplierInvoice",
    "id": "Invoice:0042",
    "event": "updated",
    "timestamp": "2026-03-02T10:00:00Z",
}


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def body_of(note: dict[str, Any] | None = None) -> bytes:
    return json.dumps(note if note is not None else NOTE).encode()


@dataclass
class Ingress:
    http: httpx.AsyncClient
    sender: FakeSender

    async def post(
        self, body: bytes, *, signature: str | None = None, header: str = "X-Visma-Signature"
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers[header] = signature
        return await self.http.post("/webhooks/visma", content=body, headers=headers)


@pytest.fixture
def make_ingress(ingress_client: Callable[..., httpx.AsyncClient]) -> Callable[..., Ingress]:
    def make(sender: FakeSender, **settings: Any) -> Ingress:
        settings.setdefault("visma_webhook_secret", SecretStr(SECRET))
        return Ingress(ingress_client(sender, **settings), sender)

    return make


@pytest.fixture
async def ingress(make_ingress: Callable[..., Ingress]) -> Ingress:
    return make_ingress(FakeSender())


async def test_a_signed_notification_is_stored_once_then_acknowledged(ingress: Ingress) -> None:
    body = body_of()
    response = await ingress.post(body, signature=sign(body))
    assert response.status_code == 200
    [sent] = ingress.sender.sent
    assert sent.topic == "visma.notification.v1"
    assert sent.key == "tenant-se-1/company-7"
    name, record = SERDE.decode(sent.value)
    assert name == VismaNotificationReceived.SCHEMA
    note = VismaNotificationReceived.from_record(record)
    assert (note.tenant_id, note.company_id, note.entity_type) == (
        "tenant-se-1", "company-7", "supplierInvoice")  # fmt: skip
    assert (note.entity_id, note.event, note.occurred_at) == (
        "Invoice:0042", "updated", "2026-03-02T10:00:00Z")  # fmt: skip
    assert response.json() == {"ok": True, "id": note.notification_id, "duplicate": False}


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        pytest.param(body_of({**NOTE, "id": "Invoice:0043"}), sign(body_of()), id="tampered-body"),
        pytest.param(body_of(), sign(body_of(), "another-secret"), id="wrong-secret"),
        pytest.param(body_of(), None, id="missing-header"),
        pytest.param(body_of(), "", id="empty-header"),
        pytest.param(body_of(), sign(body_of())[:-4] + "AAA=", id="truncated-signature"),
    ],
)
async def test_an_unverified_notification_is_refused_and_not_stored(
    ingress: Ingress, body: bytes, signature: str | None
) -> None:
    response = await ingress.post(body, signature=signature)
    assert response.status_code == 401
    assert response.json()["ok"] is False
    assert ingress.sender.sent == []


async def test_malformed_json_is_a_bad_request(ingress: Ingress) -> None:
    body = b'{"tenantId": "tenant-se-1", "companyId": '
    response = await ingress.post(body, signature=sign(body))
    assert response.status_code == 400
    assert ingress.sender.sent == []


@pytest.mark.parametrize("missing", ["tenantId", "companyId", "entity"])
async def test_a_missing_field_is_a_bad_request_naming_it(ingress: Ingress, missing: str) -> None:
    body = body_of({k: v for k, v in NOTE.items() if k != missing})
    response = await ingress.post(body, signature=sign(body))
    assert response.status_code == 400
    assert missing in response.json()["error"]
    assert ingress.sender.sent == []


async def test_an_empty_field_is_a_bad_request_naming_it(ingress: Ingress) -> None:
    body = body_of({**NOTE, "companyId": ""})
    response = await ingress.post(body, signature=sign(body))
    assert response.status_code == 400
    assert "companyId" in response.json()["error"]
    assert ingress.sender.sent == []


async def test_the_signature_header_name_is_configuration(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress(FakeSender(), visma_signature_header="X-Other-Signature")
    body = body_of()
    default = await ingress.post(body, signature=sign(body))
    assert default.status_code == 401, "the default header must no longer be read"
    configured = await ingress.post(body, signature=sign(body), header="X-Other-Signature")
    assert configured.status_code == 200
    assert len(ingress.sender.sent) == 1


async def test_without_a_configured_secret_nothing_is_accepted(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress(FakeSender(), visma_webhook_secret=None)
    body = body_of()
    response = await ingress.post(body, signature=sign(body))
    assert response.status_code == 503
    assert ingress.sender.sent == []


async def test_a_failed_write_is_not_acknowledged(make_ingress: Callable[..., Ingress]) -> None:
    async def refuse() -> None:
        raise ProduceError("broker said no")

    ingress = make_ingress(FakeSender(behaviour=refuse))
    body = body_of()
    response = await ingress.post(body, signature=sign(body))
    assert response.status_code == 503
    assert not response.is_success
    assert int(response.headers["Retry-After"]) > 0
    assert ingress.sender.sent == []


async def test_a_write_that_never_finishes_is_answered_within_the_ack_timeout(
    make_ingress: Callable[..., Ingress],
) -> None:
    started = asyncio.Event()

    async def hang() -> None:
        started.set()
        await asyncio.Event().wait()

    ingress = make_ingress(FakeSender(behaviour=hang), ack_timeout_seconds=0.2)
    body = body_of()
    loop = asyncio.get_running_loop()
    begun = loop.time()
    response = await asyncio.wait_for(ingress.post(body, signature=sign(body)), timeout=10)
    assert started.is_set()
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert loop.time() - begun < 5


async def test_the_same_body_twice_has_the_same_notification_id(ingress: Ingress) -> None:
    body = body_of()
    first = await ingress.post(body, signature=sign(body))
    second = await ingress.post(body, signature=sign(body))
    other_body = body_of({**NOTE, "event": "created"})
    other = await ingress.post(other_body, signature=sign(other_body))
    assert [r.status_code for r in (first, second, other)] == [200, 200, 200]
    ids = [
        VismaNotificationReceived.from_record(SERDE.decode(s.value)[1]).notification_id
        for s in ingress.sender.sent
    ]
    assert ids[0] == first.json()["id"] == second.json()["id"]
    assert ids[1] == other.json()["id"] != ids[0]


def test_verify_accepts_only_the_exact_signature() -> None:
    secret, body = SecretStr(SECRET), body_of()
    good = expected_signature(secret, body)
    assert good == sign(body)
    verify(secret, body, good)
    verify(secret, body, f" {good}\n")  # surrounding whitespace from a proxy is tolerated
    for bad in (None, "", good[:-1], good + "A", good.lower(), sign(body, "x")):
        with pytest.raises(RejectedNotificationError) as caught:
            verify(secret, body, bad)
        assert caught.value.status == 401


async def test_a_non_ascii_signature_is_refused_not_an_error(ingress: Ingress) -> None:
    # Header bytes outside ASCII reach the comparison as latin-1 text; a constant-time
    # comparison of text refuses those, so the route must still answer 401, never 500.
    body = body_of()
    response = await ingress.http.post(
        "/webhooks/visma", content=body,
        headers=[(b"X-Visma-Signature", sign(body)[:-2].encode() + b"\xe9=")],
    )  # fmt: skip
    assert response.status_code == 401
    assert ingress.sender.sent == []


def test_verify_refuses_near_misses_anywhere_in_the_signature() -> None:
    # A comparison that stops at the first difference would still refuse these; what the
    # test pins is that every position counts, first and last alike, and lengths differ.
    secret, body = SecretStr(SECRET), body_of()
    good = expected_signature(secret, body)
    flipped = {"A": "B"}
    for position in (0, len(good) // 2, len(good) - 2):
        char = good[position]
        bad = good[:position] + flipped.get(char, "A") + good[position + 1 :]
        with pytest.raises(RejectedNotificationError):
            verify(secret, body, bad)
