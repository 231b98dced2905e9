"""POST /webhooks/twilio/status in process: verify with Twilio's own recipe, store once, answer.

Callbacks are signed with the official `RequestValidator.compute_signature` (twilio_status_kit);
Kafka is a fake sender that records what the route stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fake_sender import FakeSender
from pydantic import SecretStr
from twilio_status_kit import (
    ACCOUNT,
    OTHER_ACCOUNT,
    OTHER_TOKEN,
    PUBLIC_URL,
    SERVICE,
    TOKEN,
    callback,
    message_sid,
    signed,
)

from chassis.kafka.producer import ProduceError
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.vault import CredentialVault, KeyRing, MasterKey
from events.twilio_status import TwilioMessageStatus
from ingress.app import create_app
from ingress.config import IngressSettings
from ingress.twilio_tokens import TwilioAuthTokens

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
PATH = "/webhooks/twilio/status"


@dataclass
class Ingress:
    http: httpx.AsyncClient
    sender: FakeSender

    async def post(self, body: bytes, headers: dict[str, str], query: str = "") -> httpx.Response:
        return await self.http.post(PATH + query, content=body, headers=headers)

    async def deliver(self, form: dict[str, str], **signing: Any) -> httpx.Response:
        return await self.post(*signed(form, **signing))

    def stored(self) -> list[TwilioMessageStatus]:
        decoded = [SERDE.decode(s.value) for s in self.sender.sent]
        assert {name for name, _ in decoded} <= {TwilioMessageStatus.SCHEMA}
        return [TwilioMessageStatus.from_record(record) for _, record in decoded]


@pytest.fixture
def make_ingress(ingress_client: Callable[..., httpx.AsyncClient]) -> Callable[..., Ingress]:
    def make(sender: FakeSender | None = None, **settings: Any) -> Ingress:
        settings.setdefault("twilio_status_callback_url", PUBLIC_URL)
        settings.setdefault("twilio_auth_tokens", {ACCOUNT: SecretStr(TOKEN)})
        sender = sender or FakeSender()
        return Ingress(ingress_client(sender, **settings), sender)

    return make


@pytest.fixture
async def ingress(make_ingress: Callable[..., Ingress]) -> Ingress:
    return make_ingress()


# ---- what is stored ---------------------------------------------------------------------------


async def test_a_signed_callback_is_stored_keyed_by_its_message_then_acknowledged(
    ingress: Ingress,
) -> None:
    sid = message_sid(1)
    response = await ingress.deliver(callback(sid, "delivered"))

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "message_sid": sid,
        "status": "delivered",
        "duplicate": False,
    }
    [sent] = ingress.sender.sent
    assert (sent.topic, sent.key) == ("twilio.message-status.v1", sid)
    [event] = ingress.stored()
    assert (event.message_sid, event.account_sid, event.status) == (sid, ACCOUNT, "delivered")
    assert (event.to, event.from_number) == ("+46701234567", "+46769439999")
    assert event.messaging_service_sid == SERVICE
    assert (event.error_code, event.error_message) == (None, None)


async def test_a_failure_keeps_twilios_error_code_and_message(ingress: Ingress) -> None:
    form = callback(message_sid(2), "undelivered", error_code=30003,
                    error_message="Unreachable destination handset")  # fmt: skip
    response = await ingress.deliver(form)

    assert response.status_code == 200
    [event] = ingress.stored()
    assert (event.status, event.error_code) == ("undelivered", 30003)
    assert event.error_message == "Unreachable destination handset"


async def test_a_repeated_callback_is_stored_once(ingress: Ingress) -> None:
    form = callback(message_sid(3), "sent")
    first, again = await ingress.deliver(form), await ingress.deliver(form)

    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert len(ingress.stored()) == 1


async def test_each_status_of_a_message_is_stored_whatever_order_they_come_in(
    ingress: Ingress,
) -> None:
    sid = message_sid(4)
    for status in ("delivered", "queued", "sent"):
        assert (await ingress.deliver(callback(sid, status))).status_code == 200

    assert [e.status for e in ingress.stored()] == ["delivered", "queued", "sent"]
    assert {s.key for s in ingress.sender.sent} == {sid}


async def test_parameters_twilio_adds_later_are_signed_and_accepted(ingress: Ingress) -> None:
    form = callback(message_sid(5), "read") | {"ChannelStatusMessage": "seen", "RawDlrDoneDate": ""}
    response = await ingress.deliver(form)

    assert response.status_code == 200
    assert ingress.stored()[0].status == "read"


async def test_the_registered_query_is_part_of_the_signed_url(ingress: Ingress) -> None:
    query = "?command=9f2c&attempt=1"
    body, headers = signed(callback(message_sid(6), "sent"), url=PUBLIC_URL + query)

    assert (await ingress.post(body, headers, query=query)).status_code == 200
    assert (await ingress.post(body, headers)).status_code == 403


# ---- refused ----------------------------------------------------------------------------------


async def test_an_unsigned_callback_is_a_403_and_nothing_is_stored(ingress: Ingress) -> None:
    body, headers = signed(callback(message_sid(7), "delivered"))
    del headers["X-Twilio-Signature"]

    response = await ingress.post(body, headers)

    assert response.status_code == 403
    assert "unsigned" in response.json()["error"]
    assert ingress.sender.calls == 0


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param({"token": OTHER_TOKEN}, id="another-token"),
        pytest.param({"url": "http://in/webhooks/twilio/status"}, id="the-url-the-service-sees"),
        pytest.param({"url": "https://evil.example.com/webhooks/twilio/status"}, id="other-url"),
        pytest.param({"url": PUBLIC_URL + "?x=1"}, id="another-query"),
    ],
)
async def test_a_forged_or_misaddressed_callback_is_a_403(
    ingress: Ingress, forgery: dict[str, str]
) -> None:
    response = await ingress.deliver(callback(message_sid(8), "delivered"), **forgery)

    assert response.status_code == 403
    assert ingress.sender.calls == 0


async def test_a_tampered_callback_is_a_403(ingress: Ingress) -> None:
    form = callback(message_sid(9), "failed", error_code=30008)
    body, headers = signed(form)
    tampered = urlencode(form | {"MessageStatus": "delivered"}).encode()
    dropped = urlencode({k: v for k, v in form.items() if k != "ErrorCode"}).encode()

    assert (await ingress.post(tampered, headers)).status_code == 403
    assert (await ingress.post(dropped, headers)).status_code == 403
    assert (await ingress.post(body, headers)).status_code == 200


async def test_an_account_without_a_token_is_a_403(ingress: Ingress) -> None:
    form = callback(message_sid(10), "sent", account=OTHER_ACCOUNT)
    response = await ingress.deliver(form, token=OTHER_TOKEN)

    assert response.status_code == 403
    assert ingress.sender.calls == 0


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b'{"MessageSid": "SM1"}', 415),
        (None, b"MessageSid=SM1", 415),
        ("application/x-www-form-urlencoded", b"\xff\xfe=\x00", 400),
        ("application/x-www-form-urlencoded", b"a=1&&&b", 400),
        ("application/x-www-form-urlencoded", b"&".join([b"a=1"] * 101), 400),
        ("application/x-www-form-urlencoded", b"", 403),
        ("application/x-www-form-urlencoded", b"AccountSid=AC1&MessageSid=SM1", 403),
    ],
)
async def test_a_body_that_is_not_a_callback_is_a_4xx(
    ingress: Ingress, content_type: str | None, body: bytes, status: int
) -> None:
    headers = {"X-Twilio-Signature": "c2lnbmF0dXJl"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await ingress.post(body, headers)

    assert response.status_code == status
    assert ingress.sender.calls == 0


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"MessageSid": "SM123"}, "MessageSid"),
        ({"MessageSid": "SM" + "g" * 32}, "MessageSid"),
        ({"MessageStatus": "Delivered!"}, "MessageStatus"),
        ({"MessageStatus": ""}, "MessageStatus"),
        ({"ErrorCode": "9" * 30}, "ErrorCode"),
        ({"ErrorCode": "thirty"}, "ErrorCode"),
        ({"ErrorMessage": "x" * 1001}, "ErrorMessage"),
        ({"To": "+4" * 200}, "To"),
        ({"MessagingServiceSid": "MG1"}, "MessagingServiceSid"),
    ],
)
async def test_a_signed_callback_with_a_field_out_of_bounds_is_a_400_naming_it(
    ingress: Ingress, change: dict[str, str], named: str
) -> None:
    response = await ingress.deliver(callback(message_sid(11), "sent") | change)

    assert response.status_code == 400
    assert response.json()["error"].startswith(named)
    assert ingress.sender.calls == 0


async def test_a_signed_callback_missing_its_message_sid_is_a_400(ingress: Ingress) -> None:
    form = callback(message_sid(12), "sent")
    del form["MessageSid"]
    response = await ingress.deliver(form)
    assert (response.status_code, response.json()["error"][:10]) == (400, "MessageSid")


async def test_a_repeated_parameter_is_a_400(ingress: Ingress) -> None:
    form = callback(message_sid(13), "sent")
    body, headers = signed(form)
    response = await ingress.post(body + b"&MessageStatus=delivered", headers)
    assert response.status_code == 400


async def test_without_a_public_callback_url_the_route_answers_503(
    make_ingress: Callable[..., Ingress],
) -> None:
    ingress = make_ingress(twilio_status_callback_url=None)
    response = await ingress.deliver(callback(message_sid(14), "sent"))
    assert response.status_code == 503
    assert "Retry-After" in response.headers


async def test_a_callback_kafka_did_not_confirm_is_a_503_and_its_retry_is_stored(
    make_ingress: Callable[..., Ingress],
) -> None:
    failures = [ProduceError("broker down")]

    async def fail_once() -> None:
        if failures:
            raise failures.pop()

    ingress = make_ingress(FakeSender(behaviour=fail_once))
    form = callback(message_sid(15), "delivered")

    assert (await ingress.deliver(form)).status_code == 503
    assert ingress.sender.sent == []
    retried = await ingress.deliver(form)
    assert (retried.status_code, retried.json()["duplicate"]) == (200, False)
    assert len(ingress.stored()) == 1


# ---- tokens from the vault --------------------------------------------------------------------


class MemoryCredentials:
    """The vault's credential log in memory; counts how often the vault read it."""

    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}
        self.reads = 0

    def read_all(self) -> dict[str, bytes]:
        self.reads += 1
        return dict(self.records)

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        self.records.update(records)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def vault_ingress(
    ingress_client: Callable[..., httpx.AsyncClient],
) -> tuple[Ingress, CredentialVault, MemoryCredentials, Clock]:
    log = MemoryCredentials()
    ring = KeyRing(MasterKey.generate())
    operator = CredentialVault(log, ring)  # `mlc secrets set`: another process, same topic
    operator.put(f"twilio/{ACCOUNT}/auth-token", SecretStr(TOKEN))
    clock = Clock()
    tokens = TwilioAuthTokens(
        vault=lambda: CredentialVault(log, ring), refresh_seconds=5.0, clock=clock
    )
    sender = FakeSender()
    app = create_app(
        settings=IngressSettings(twilio_status_callback_url=PUBLIC_URL),
        send=sender,
        serde=SERDE,
        twilio_tokens=tokens,
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://in")
    return Ingress(http, sender), operator, log, clock


async def test_each_accounts_token_comes_from_the_vault_and_a_new_one_is_picked_up(
    vault_ingress: tuple[Ingress, CredentialVault, MemoryCredentials, Clock],
) -> None:
    ingress, vault, log, clock = vault_ingress
    async with ingress.http:
        assert (await ingress.deliver(callback(message_sid(20), "sent"))).status_code == 200

        # An account added while the ingress runs, then the first account's token rotated.
        vault.put(f"twilio/{OTHER_ACCOUNT}/auth-token", SecretStr(OTHER_TOKEN))
        clock.now += 5
        other = callback(message_sid(21), "sent", account=OTHER_ACCOUNT)
        assert (await ingress.deliver(other, token=OTHER_TOKEN)).status_code == 200
        vault.put(f"twilio/{ACCOUNT}/auth-token", SecretStr("rotated-token-000111222333444555"))
        clock.now += 5
        rotated = callback(message_sid(22), "sent")
        response = await ingress.deliver(rotated, token="rotated-token-000111222333444555")
        assert response.status_code == 200

    assert [e.message_sid for e in ingress.stored()] == [message_sid(n) for n in (20, 21, 22)]
    assert log.reads == 3, "read at the first callback, then once per unknown token"


async def test_forged_callbacks_read_the_vault_at_most_once_per_interval(
    vault_ingress: tuple[Ingress, CredentialVault, MemoryCredentials, Clock],
) -> None:
    ingress, _vault, log, clock = vault_ingress
    async with ingress.http:
        for n in range(50):
            forged = callback(message_sid(30 + n), "delivered")
            assert (await ingress.deliver(forged, token=OTHER_TOKEN)).status_code == 403
        reads_in_one_interval = log.reads
        clock.now += 5
        forged = callback(message_sid(99), "delivered")
        assert (await ingress.deliver(forged, token=OTHER_TOKEN)).status_code == 403

    assert reads_in_one_interval == 1
    assert log.reads == 2
    assert ingress.sender.calls == 0
