"""TwilioAlerts against a MockTransport Twilio (Messages API as its OpenAPI spec describes
it: 201 on create, the list filtered by To and DateSent>, error bodies with code and
message) and SendGrid (202 + X-Message-Id), with the ledger on an in-memory producer.

What matters is "at most once": a DONE command is never sent again, a PENDING SMS (the
sink died, or the call timed out after Twilio took it) is looked for in Twilio's list
before any resend, a permanent refusal is FAILED and never retried, a 20429 is handed to
the runner to wait out, and the account's calls stay under the cap.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from chassis.audit import AuditTrail
from chassis.errors import PermanentError, SystemUnavailable
from chassis.kafka.handling import handling
from chassis.kafka.producer import Delivery
from chassis.kafka.record import Held, Origin, Record
from chassis.serde import AvroSerde, SchemaCatalog
from events.commands import SendEmail, SendSms
from events.twilio_deliveries import TwilioChannel, TwilioDelivery, TwilioDeliveryStatus
from twilio_client import (
    SendGridSender,
    TwilioAuthError,
    TwilioCredentials,
    TwilioMessages,
    TwilioServerError,
)
from twilio_sink.account_cap import AccountCap
from twilio_sink.credentials import CredentialSource, ProviderSecrets, RefusedCredentials
from twilio_sink.delivery import SmsSender, TwilioAlerts
from twilio_sink.ledger import Ledger

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())
ACCOUNT = "AC" + "0" * 32
SMS_TOPIC, EMAIL_TOPIC = "sink.twilio-sms.v1", "sink.twilio-email.v1"
FROM = "+46700000001"


class Producer:
    """What the ledger needs of an EventProducer: confirmed at once, kept in memory."""

    def __init__(self) -> None:
        self.sent: list[TwilioDelivery] = []

    def send(self, topic: str, *, key: str, value: bytes | None, partition: int) -> Delivery:
        assert value is not None, "nothing expires in these tests"
        self.sent.append(TwilioDelivery.from_record(SERDE.decode(value)[1]))
        delivered: Delivery = Future()
        delivered.set_result(None)
        return delivered


class Twilio:
    """Messages kept in memory; answers create, list (To, DateSent>) and SendGrid's send."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.creates = 0
        self.lists: list[dict[str, str]] = []
        self.emails: list[dict[str, Any]] = []
        self.fail_next: list[tuple[int, dict[str, Any]]] = []
        self.time_out_after_create = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.hold: asyncio.Event | None = None
        self.token: str | None = None
        self.calls = 0
        """The Auth Token Twilio accepts (None: any)."""

    def message(self, to: str, body: str) -> dict[str, Any]:
        sid = f"SM{len(self.messages):032x}"
        stamp = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        message = {
            "sid": sid, "account_sid": ACCOUNT, "to": to, "from": FROM, "body": body,
            "status": "queued", "date_created": stamp, "date_sent": stamp,
            "date_updated": stamp, "error_code": None, "error_message": None,
            "direction": "outbound-api", "num_segments": "1",
        }  # fmt: skip
        self.messages.append(message)
        return message

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.hold is not None and request.url.path != "/v3/mail/send":
                await self.hold.wait()
            return self._answer(request)
        finally:
            self.in_flight -= 1

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.token is not None and request.url.path != "/v3/mail/send":
            expected = httpx.BasicAuth(ACCOUNT, self.token)._auth_header
            if request.headers["Authorization"] != expected:
                return httpx.Response(401, json=error(20003, 401, "Authenticate")[1])
        if request.url.path == "/v3/mail/send":
            self.emails.append(dict(request.headers) | {"json": request.content})
            return httpx.Response(202, headers={"X-Message-Id": f"sg-{len(self.emails)}"})
        assert request.url.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        if request.method == "GET":
            params = dict(request.url.params)
            self.lists.append(params)
            found = [m for m in self.messages if m["to"] == params["To"]]
            return httpx.Response(200, json={"messages": found[::-1], "next_page_uri": None})
        self.creates += 1
        if self.fail_next:
            status, body = self.fail_next.pop(0)
            return httpx.Response(status, json=body)
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        message = self.message(form["To"], form["Body"])
        if self.time_out_after_create:
            self.time_out_after_create -= 1
            raise httpx.ReadTimeout("the answer never came", request=request)
        return httpx.Response(201, json=message)


def error(code: int, status: int, message: str) -> tuple[int, dict[str, Any]]:
    info = f"https://www.twilio.com/docs/errors/{code}"
    return status, {"code": code, "message": message, "more_info": info, "status": status}


class Sink:
    def __init__(
        self, twilio: Twilio, *, cap: int = 4, credentials: RefusedCredentials | None = None
    ) -> None:
        self.twilio = twilio
        self.producer = Producer()
        self.audit: list[dict[str, Any]] = []
        self.ledger = Ledger(
            sink="twilio-sink",
            topics={
                TwilioChannel.SMS: (SMS_TOPIC, "sms-ledger"),
                TwilioChannel.EMAIL: (EMAIL_TOPIC, "email-ledger"),
            },
            producer=self.producer,  # type: ignore[arg-type]
            serde=SERDE,
        )
        transport = httpx.MockTransport(twilio)
        http = httpx.AsyncClient(base_url="https://api.twilio.test", transport=transport)
        account = TwilioCredentials(account_sid=ACCOUNT, secret=SecretStr("token-1234"))
        self.messages = TwilioMessages(http, credentials=account)
        mail = SendGridSender(
            httpx.AsyncClient(base_url="https://sendgrid.test", transport=transport),
            api_key=SecretStr("SG.key-1234"),
            from_email="alerts@mlc.example",
        )
        self.alerts = TwilioAlerts(
            messages=self.messages,
            sender=SmsSender(from_=FROM, status_callback="https://mlc.example/cb"),
            email=mail,
            ledger=self.ledger,
            audit=AuditTrail(
                service="twilio-sink",
                serde=SERDE,
                publish=lambda key, value: self.audit.append(SERDE.decode(value)[1]),
            ),
            cap=AccountCap(cap, account=ACCOUNT),
            credentials=credentials,
        )

    async def __call__(self, record: Record) -> None:
        """As the runner calls it: in the context of the record it handles."""
        with handling([record]):
            await self.alerts(record)

    def entry(self, command: SendSms | SendEmail) -> TwilioDelivery | None:
        channel = TwilioChannel.SMS if isinstance(command, SendSms) else TwilioChannel.EMAIL
        return self.ledger.get(channel, command.command_id)

    def stages(self, command_id: str) -> list[str]:
        return [a["stage"] for a in self.audit if a["command_id"] == command_id]


def sms(n: int, *, to: str | None = None, body: str | None = None) -> SendSms:
    return SendSms(
        command_id=f"sms-{n}", tenant_id="t1", rule="big-invoices", source_event_id=f"e-{n}",
        entity_type="supplierInvoice", entity_id=f"t1/c1/supplierInvoice/{n}",
        created_at=datetime(2026, 12, 2, tzinfo=UTC), to=to or f"+4670123{n:04d}",
        body=body or f"Supplier invoice {n} over 50,000 SEK",
    )  # fmt: skip


def email(n: int) -> SendEmail:
    return SendEmail(
        command_id=f"mail-{n}", tenant_id="t1", rule="daily-payments", source_event_id=f"d-{n}",
        entity_type="supplierPayment", entity_id=f"t1/c1/digest/{n}",
        created_at=datetime(2026, 12, 2, tzinfo=UTC), to=["ap@example.se"],
        subject="Payments of 2026-12-02", body="3 payments cleared",
    )  # fmt: skip


def record(command: SendSms | SendEmail, offset: int = 0) -> Record:
    topic = SMS_TOPIC if isinstance(command, SendSms) else EMAIL_TOPIC
    return Record(
        topic=topic, partition=0, offset=offset, key=command.key, raw=b"", headers=[],
        schema=command.SCHEMA, value=command.to_record(),
    )  # fmt: skip


@pytest.mark.anyio
async def test_an_sms_is_pending_before_the_call_and_done_with_its_sid_after() -> None:
    twilio = Twilio()
    sink = Sink(twilio)
    command = sms(1)

    await sink(record(command))

    [message] = twilio.messages
    assert (message["to"], message["body"]) == (command.to, command.body)
    statuses = [(e.status, e.external_id, e.attempts) for e in sink.producer.sent]
    assert statuses == [
        (TwilioDeliveryStatus.PENDING, None, 1),
        (TwilioDeliveryStatus.DONE, message["sid"], 1),
    ]
    done = sink.producer.sent[-1]
    assert (done.message_status, done.to, done.entity_id) == (
        "queued",
        command.to,
        command.entity_id,
    )
    [sent] = [a for a in sink.audit if a["stage"] == "sent"]
    assert (sent["external_id"], sent["command_id"]) == (message["sid"], "sms-1")


@pytest.mark.anyio
async def test_a_redelivered_sms_that_is_done_is_not_sent_again() -> None:
    twilio = Twilio()
    sink = Sink(twilio)
    await sink(record(sms(1)))
    await sink(record(sms(1)))
    assert twilio.creates == 1
    assert sink.stages("sms-1") == ["sent", "skipped"]


@pytest.mark.anyio
async def test_an_sms_interrupted_after_twilio_took_it_is_found_and_not_sent_again() -> None:
    twilio = Twilio()
    sink = Sink(twilio)
    command = sms(1)
    # The sink died between the call and the DONE entry: PENDING, and Twilio has it.
    with handling([record(command)]):
        await sink.ledger.pending(TwilioChannel.SMS, command)
    taken = twilio.message(command.to, command.body)

    await sink(record(command))

    assert twilio.creates == 0
    [lookup] = twilio.lists
    assert lookup["To"] == command.to
    first_attempt = sink.producer.sent[0].first_attempt_at
    assert first_attempt is not None
    since = datetime.strptime(lookup["DateSent>"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert since <= first_attempt - timedelta(minutes=5)
    entry = sink.entry(command)
    assert entry is not None
    assert (entry.status, entry.external_id) == (TwilioDeliveryStatus.DONE, taken["sid"])


@pytest.mark.anyio
async def test_an_interrupted_sms_twilio_never_got_is_sent_once_after_the_lookup() -> None:
    twilio = Twilio()
    sink = Sink(twilio)
    command = sms(1)
    with handling([record(command)]):
        await sink.ledger.pending(TwilioChannel.SMS, command)
    twilio.message(command.to, "another alert to the same number")

    await sink(record(command))

    assert len(twilio.lists) == 1
    assert twilio.creates == 1
    entry = sink.entry(command)
    assert entry is not None
    assert (entry.status, entry.attempts) == (TwilioDeliveryStatus.DONE, 2)


@pytest.mark.anyio
async def test_a_message_another_command_already_claimed_is_not_taken_by_the_lookup() -> None:
    twilio = Twilio()
    sink = Sink(twilio)
    same = "Supplier invoice over 50,000 SEK"
    first, second = sms(1, to="+46701110000", body=same), sms(2, to="+46701110000", body=same)
    await sink(record(first))
    with handling([record(second)]):
        await sink.ledger.pending(TwilioChannel.SMS, second)

    await sink(record(second))

    assert twilio.creates == 2
    a, b = sink.entry(first), sink.entry(second)
    assert a is not None
    assert b is not None
    assert a.external_id != b.external_id


@pytest.mark.anyio
async def test_a_timeout_after_twilio_created_the_message_never_sends_it_twice() -> None:
    twilio = Twilio()
    twilio.time_out_after_create = 1
    sink = Sink(twilio)
    command = sms(1)

    with pytest.raises(TwilioServerError):
        await sink(record(command))
    entry = sink.entry(command)
    assert entry is not None
    assert (entry.status, entry.not_sent) == (TwilioDeliveryStatus.PENDING, False)
    await sink(record(command))  # the runner's retry

    assert len(twilio.messages) == 1
    entry = sink.entry(command)
    assert entry is not None
    assert (entry.status, entry.external_id) == (
        TwilioDeliveryStatus.DONE,
        twilio.messages[0]["sid"],
    )


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (21211, "The 'To' number +4670 is not a valid phone number."),
        (21610, "Attempt to send to unsubscribed recipient"),
    ],
)
@pytest.mark.anyio
async def test_a_permanent_refusal_is_failed_with_twilios_code_and_never_retried(
    code: int, message: str
) -> None:
    twilio = Twilio()
    twilio.fail_next = [error(code, 400, message)]
    sink = Sink(twilio)
    command = sms(1)

    await sink(record(command))  # no raise: nothing for the runner to retry or dead-letter
    await sink(record(command))  # a redelivery

    assert twilio.creates == 1
    entry = sink.entry(command)
    assert entry is not None
    assert (entry.status, entry.error_code, entry.error_message) == (
        TwilioDeliveryStatus.FAILED,
        code,
        message,
    )
    [failed] = [a for a in sink.audit if a["stage"] == "failed"]
    assert str(code) in failed["detail"]
    assert message in failed["detail"]
    assert sink.stages("sms-1") == ["failed", "skipped"]


@pytest.mark.anyio
async def test_a_20429_goes_back_to_the_runner_and_the_retry_needs_no_lookup() -> None:
    twilio = Twilio()
    twilio.fail_next = [error(20429, 429, "Too Many Requests")]
    sink = Sink(twilio)
    command = sms(1)

    with pytest.raises(SystemUnavailable):
        await sink(record(command))
    entry = sink.entry(command)
    assert entry is not None
    assert (entry.status, entry.not_sent, entry.attempts) == (
        TwilioDeliveryStatus.PENDING,
        True,
        0,
    )
    await sink(record(command))

    assert twilio.lists == []
    assert len(twilio.messages) == 1


@pytest.mark.anyio
async def test_a_refusal_after_a_timeout_still_looks_before_the_next_send() -> None:
    twilio = Twilio()
    sink = Sink(twilio)
    command = sms(1)
    # 1st call timed out (outcome unknown); the lookup before the 2nd found nothing and
    # the 2nd got a 20429. Twilio then acts on the 1st after all.
    with handling([record(command)]):
        entry = await sink.ledger.pending(TwilioChannel.SMS, command)
        entry = await sink.ledger.pending(TwilioChannel.SMS, command)
        await sink.ledger.not_sent(entry)
    late = twilio.message(command.to, command.body)

    await sink(record(command))

    assert twilio.creates == 0
    assert len(twilio.lists) == 1
    entry = sink.entry(command)
    assert entry is not None
    assert (entry.status, entry.external_id) == (TwilioDeliveryStatus.DONE, late["sid"])


@pytest.mark.anyio
async def test_a_rejected_credential_is_not_the_alerts_failure() -> None:
    twilio = Twilio()
    twilio.fail_next = [error(20003, 401, "Authenticate")]
    sink = Sink(twilio)
    command = sms(1)

    with pytest.raises(TwilioAuthError) as raised:
        await sink(record(command))
    assert isinstance(raised.value, PermanentError)
    entry = sink.entry(command)
    assert entry is not None
    assert (entry.status, entry.not_sent) == (TwilioDeliveryStatus.PENDING, True)


@pytest.mark.anyio
async def test_calls_to_the_account_stay_under_its_cap() -> None:
    twilio = Twilio()
    twilio.hold = asyncio.Event()
    sink = Sink(twilio, cap=2)
    sends = [asyncio.create_task(sink(record(sms(n)))) for n in range(6)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert twilio.in_flight == 2
    # Sends under way (PENDING written) are bounded too: a crash now leaves 4 to look up.
    assert len(sink.producer.sent) == 4
    twilio.hold.set()
    await asyncio.gather(*sends)
    assert twilio.most_in_flight == 2
    assert len(twilio.messages) == 6


@pytest.mark.anyio
async def test_an_email_never_waits_behind_sms_that_fill_the_twilio_cap() -> None:
    twilio = Twilio()
    twilio.hold = asyncio.Event()  # Twilio's calls hang; SendGrid answers
    sink = Sink(twilio, cap=1)
    stuck = asyncio.create_task(sink(record(sms(1))))
    for _ in range(10):
        await asyncio.sleep(0)
    assert twilio.in_flight == 1

    await asyncio.wait_for(sink(record(email(1))), timeout=5)

    assert len(twilio.emails) == 1
    twilio.hold.set()
    await stuck


@pytest.mark.anyio
async def test_an_email_is_sent_once_and_done_with_sendgrids_message_id() -> None:
    twilio = Twilio()
    sink = Sink(twilio)
    command = email(1)

    await sink(record(command))
    await sink(record(command))

    assert len(twilio.emails) == 1
    entry = sink.entry(command)
    assert entry is not None
    assert (entry.status, entry.external_id) == (TwilioDeliveryStatus.DONE, "sg-1")
    assert sink.stages("mail-1") == ["sent", "skipped"]


@pytest.mark.anyio
async def test_an_email_sends_its_plain_text_and_its_html_part() -> None:
    twilio = Twilio()
    sink = Sink(twilio)
    command = email(1).model_copy(update={"html": "<p>3 payments <b>cleared</b></p>"})

    await sink(record(command))

    [sent] = twilio.emails
    assert json.loads(sent["json"])["content"] == [
        {"type": "text/plain", "value": "3 payments cleared"},
        {"type": "text/html", "value": "<p>3 payments <b>cleared</b></p>"},
    ]


@pytest.mark.anyio
async def test_an_interrupted_email_is_sent_again_once_and_the_repeat_is_audited() -> None:
    twilio = Twilio()
    sink = Sink(twilio)
    command = email(1)
    with handling([record(command)]):
        await sink.ledger.pending(TwilioChannel.EMAIL, command)

    await sink(record(command))

    assert len(twilio.emails) == 1  # SendGrid cannot be asked: sent again (the one repeat)
    assert sink.stages("mail-1") == ["retried", "sent"]
    entry = sink.entry(command)
    assert entry is not None
    assert (entry.status, entry.attempts) == (TwilioDeliveryStatus.DONE, 2)


@pytest.mark.anyio
async def test_the_ledger_keeps_the_most_advanced_message_status() -> None:
    twilio = Twilio()
    sink = Sink(twilio)
    command = sms(1)
    await sink(record(command))
    entry = sink.entry(command)
    assert entry is not None
    with handling([record(command)]):
        delivered = await sink.ledger.status_seen(entry, message_status="delivered")
        assert delivered is not None
        assert await sink.ledger.status_seen(delivered, message_status="sent") is None
    entry = sink.entry(command)
    assert entry is not None
    assert entry.message_status == "delivered"


class Vault:
    """What the sink reads of the credential vault: load, then get by name."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.loads = 0

    def load(self) -> None:
        self.loads += 1

    def get(self, name: str) -> SecretStr:
        return SecretStr(self.values[name])


@pytest.mark.anyio
async def test_a_refused_auth_token_holds_sms_until_the_vault_has_a_new_one() -> None:
    twilio = Twilio()
    twilio.token = "token-5678"  # rotated at Twilio; the vault still has the old one
    vault = Vault({"twilio/auth": "token-1234", "sendgrid/key": "SG.key-1234"})
    secrets = ProviderSecrets(
        {
            "twilio": CredentialSource(vault_name="twilio/auth"),
            "sendgrid": CredentialSource(vault_name="sendgrid/key"),
        },
        vault=lambda: vault,  # type: ignore[arg-type,return-value]
    )
    uses: dict[str, Any] = {}
    refused = RefusedCredentials(
        secrets, use={"twilio": lambda s: uses["twilio"](s), "sendgrid": print},
        refresh_seconds=0.01,
    )  # fmt: skip
    sink = Sink(twilio, credentials=refused)
    uses["twilio"] = lambda secret: sink.messages.use(
        sink.messages.credentials.model_copy(update={"secret": secret})
    )

    with pytest.raises(Held) as held:
        await sink(record(sms(1)))
    entry = sink.entry(sms(1))
    assert entry is not None
    assert (entry.status, entry.not_sent) == (TwilioDeliveryStatus.PENDING, True)
    with pytest.raises(Held):  # the next SMS waits too, without a call
        await sink(record(sms(2)))
    assert twilio.calls == 1
    await sink(record(email(1)))  # email is another provider's credential: not held
    assert len(twilio.emails) == 1

    vault.values["twilio/auth"] = "token-5678"  # mlc secrets set
    await asyncio.wait_for(held.value.released(), timeout=5)
    await sink(record(sms(1)))
    await sink(record(sms(2)))

    assert [m["body"] for m in twilio.messages] == [sms(1).body, sms(2).body]
    assert twilio.lists == []  # refused calls sent nothing: no lookup needed
    await refused.aclose()


@pytest.mark.anyio
async def test_a_redriven_email_is_an_email_of_its_original_topic_and_sent_once() -> None:
    """`mlc dlq redrive` hands it over from `redrive.<group>.v1`: the channel comes from the
    topic it was first written to, and its ledger still keeps it from going out twice."""
    twilio = Twilio()
    sink = Sink(twilio)
    command = email(1)
    redriven = replace(
        record(command, offset=0), topic="redrive.twilio-sink.v1",
        origin=Origin(EMAIL_TOPIC, 0, 17),
    )  # fmt: skip

    await sink(redriven)
    await sink(redriven)

    assert len(twilio.emails) == 1
    assert twilio.creates == 0
    assert sink.stages("mail-1") == ["sent", "skipped"]
