"""TwilioMessages and SendGridSender against MockTransports that answer as Twilio's
Messages API (OpenAPI spec twilio_api_v2010, error body `code/message/more_info/status`)
and SendGrid's v3 Mail Send (202 + X-Message-Id; `errors[]` bodies) document them."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from chassis.errors import PermanentError, RetryableError, SystemUnavailable
from twilio_client import (
    EmailSender,
    OutgoingEmail,
    SendGridSender,
    TwilioAuthError,
    TwilioCredentials,
    TwilioMessages,
    TwilioRecipientError,
    TwilioRequestError,
    TwilioSenderError,
    TwilioServerError,
    TwilioTooManyRequests,
    TwilioUnavailable,
)

pytestmark = pytest.mark.unit

ACCOUNT = "AC" + "1" * 32
API_KEY = "SK" + "2" * 32
TOKEN = "auth-token-very-secret"
BASE = "https://api.twilio.test"


def message_json(sid: str = "SM" + "a" * 32, **fields: Any) -> dict[str, Any]:
    """A Message resource shaped like the spec's `api.v2010.account.message`."""
    body = {
        "account_sid": ACCOUNT,
        "api_version": "2010-04-01",
        "body": "Invoice 42 over 50,000 SEK",
        "date_created": "Wed, 02 Dec 2026 21:00:00 +0000",
        "date_sent": None,
        "date_updated": "Wed, 02 Dec 2026 21:00:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": "+46700000001",
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}/Media.json"},
        "to": "+46701234567",
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json",
    }
    body.update(fields)
    return body


def twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


Answer = Callable[[httpx.Request], httpx.Response]


def messages(
    answer: Answer, *, api_key: bool = False
) -> tuple[TwilioMessages, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    http = httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(handler))
    credentials = TwilioCredentials(
        account_sid=ACCOUNT, secret=SecretStr(TOKEN), api_key_sid=API_KEY if api_key else None
    )
    return TwilioMessages(http, credentials=credentials), seen


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.anyio
async def test_create_posts_the_form_with_basic_auth_and_reads_the_message() -> None:
    client, seen = messages(lambda r: httpx.Response(201, json=message_json()))
    sent = await client.create(
        to="+46701234567",
        body="Invoice 42 over 50,000 SEK",
        from_="+46700000001",
        status_callback="https://mlc.example/webhooks/twilio/status",
    )
    request = seen[0]
    assert request.method == "POST"
    assert request.url.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"] == basic(ACCOUNT, TOKEN)
    assert parse_qs(request.content.decode()) == {
        "To": ["+46701234567"],
        "Body": ["Invoice 42 over 50,000 SEK"],
        "From": ["+46700000001"],
        "StatusCallback": ["https://mlc.example/webhooks/twilio/status"],
    }
    assert sent.sid == "SM" + "a" * 32
    assert sent.status == "queued"
    assert sent.from_ == "+46700000001"
    assert sent.date_created == datetime(2026, 12, 2, 21, 0, tzinfo=UTC)


@pytest.mark.anyio
async def test_an_api_key_authenticates_with_its_sid_and_a_messaging_service_replaces_from() -> (
    None
):
    client, seen = messages(lambda r: httpx.Response(201, json=message_json()), api_key=True)
    await client.create(to="+46701234567", body="hi", messaging_service_sid="MG" + "3" * 32)
    request = seen[0]
    # The URL still names the account; only the Basic user is the key.
    assert request.url.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request.headers["Authorization"] == basic(API_KEY, TOKEN)
    form = parse_qs(request.content.decode())
    assert form["MessagingServiceSid"] == ["MG" + "3" * 32]
    assert "From" not in form


@pytest.mark.anyio
async def test_create_wants_exactly_one_sender() -> None:
    client, seen = messages(lambda r: httpx.Response(201, json=message_json()))
    with pytest.raises(ValueError, match="exactly one"):
        await client.create(to="+46701234567", body="hi")
    with pytest.raises(ValueError, match="exactly one"):
        await client.create(
            to="+46701234567", body="hi", from_="+4670", messaging_service_sid="MG" + "3" * 32
        )
    assert seen == []


@pytest.mark.anyio
async def test_fetch_reads_one_message_by_sid() -> None:
    sid = "SM" + "b" * 32
    client, seen = messages(
        lambda r: httpx.Response(
            200,
            json=message_json(
                sid,
                status="undelivered",
                error_code=30003,
                error_message="Unreachable destination handset",
                date_sent="Wed, 02 Dec 2026 21:00:05 +0000",
            ),
        )
    )
    fetched = await client.fetch(sid)
    assert seen[0].method == "GET"
    assert seen[0].url.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json"
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)
    assert fetched.date_sent == datetime(2026, 12, 2, 21, 0, 5, tzinfo=UTC)


@pytest.mark.anyio
async def test_sent_to_filters_by_to_and_date_sent_and_follows_next_page_uri() -> None:
    path = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    next_uri = f"{path}?To=%2B46701234567&PageSize=100&Page=1&PageToken=PAabc"

    def answer(request: httpx.Request) -> httpx.Response:
        if "PageToken" not in request.url.params:
            page = {"messages": [message_json("SM" + "1" * 32)], "next_page_uri": next_uri}
        else:
            page = {"messages": [message_json("SM" + "2" * 32)], "next_page_uri": None}
        return httpx.Response(200, json={**page, "page": 0, "page_size": 100, "uri": path})

    client, seen = messages(answer)
    since = datetime(2026, 12, 2, 20, 55, 30, tzinfo=UTC)
    found = [m.sid async for m in client.sent_to("+46701234567", since=since)]
    assert found == ["SM" + "1" * 32, "SM" + "2" * 32]
    first = seen[0].url.params
    assert first["To"] == "+46701234567"
    assert first["DateSent>"] == "2026-12-02T20:55:30Z"
    assert first["PageSize"] == "100"
    assert seen[1].url.params["PageToken"] == "PAabc"
    assert all(r.headers["Authorization"] == basic(ACCOUNT, TOKEN) for r in seen)


@pytest.mark.parametrize(
    ("status", "code", "error", "branch"),
    [
        (400, 21211, TwilioRecipientError, PermanentError),
        (400, 21610, TwilioRecipientError, PermanentError),
        (400, 21408, TwilioRecipientError, PermanentError),
        (400, 21606, TwilioSenderError, PermanentError),
        (400, 21659, TwilioSenderError, PermanentError),
        (401, 20003, TwilioAuthError, PermanentError),
        (400, 21602, TwilioRequestError, PermanentError),
        (429, 20429, TwilioTooManyRequests, SystemUnavailable),
        (503, 20503, TwilioUnavailable, SystemUnavailable),
        (500, 20500, TwilioServerError, RetryableError),
        (502, 0, TwilioServerError, RetryableError),
    ],
)
@pytest.mark.anyio
async def test_twilio_errors_say_whether_a_retry_helps(
    status: int, code: int, error: type[Exception], branch: type[Exception]
) -> None:
    body = twilio_error(code, f"error {code}", status)
    client, _ = messages(lambda r: httpx.Response(status, json=body))
    with pytest.raises(error) as raised:
        await client.create(to="+46701234567", body="hi", from_="+46700000001")
    assert isinstance(raised.value, branch)
    assert raised.value.code == code
    assert raised.value.status == status
    assert raised.value.detail == f"error {code}"
    assert TOKEN not in str(raised.value)


@pytest.mark.anyio
async def test_a_20429_keeps_retry_after_and_says_nothing_was_sent() -> None:
    client, _ = messages(
        lambda r: httpx.Response(
            429,
            json=twilio_error(20429, "Too Many Requests", 429),
            headers={"Retry-After": "2"},
        )
    )
    with pytest.raises(TwilioTooManyRequests) as raised:
        await client.create(to="+46701234567", body="hi", from_="+46700000001")
    assert raised.value.retry_after == 2.0
    assert raised.value.refused


@pytest.mark.anyio
async def test_a_timeout_may_have_sent_but_a_refused_connection_did_not() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client, _ = messages(timeout)
    with pytest.raises(TwilioServerError) as raised:
        await client.create(to="+46701234567", body="hi", from_="+46700000001")
    assert not raised.value.refused
    client, _ = messages(refused)
    with pytest.raises(TwilioUnavailable) as down:
        await client.create(to="+46701234567", body="hi", from_="+46700000001")
    assert down.value.refused


@pytest.mark.anyio
async def test_a_500_may_have_sent() -> None:
    client, _ = messages(lambda r: httpx.Response(500, json=twilio_error(20500, "oops", 500)))
    with pytest.raises(TwilioServerError) as raised:
        await client.create(to="+46701234567", body="hi", from_="+46700000001")
    assert not raised.value.refused


@pytest.mark.anyio
async def test_an_unreadable_answer_is_a_server_error() -> None:
    client, _ = messages(lambda r: httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(TwilioServerError):
        await client.fetch("SM" + "c" * 32)


def test_credentials_refuse_a_malformed_sid() -> None:
    with pytest.raises(ValueError, match="account_sid"):
        TwilioCredentials(account_sid="AC123", secret=SecretStr(TOKEN))


SG_KEY = "SG.very-secret-key"


def sendgrid(answer: Answer) -> tuple[EmailSender, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    http = httpx.AsyncClient(
        base_url="https://sendgrid.test", transport=httpx.MockTransport(handler)
    )
    sender = SendGridSender(
        http, api_key=SecretStr(SG_KEY), from_email="alerts@mlc.example", from_name="ml-connector"
    )
    return sender, seen


EMAIL = OutgoingEmail(
    to=["ap@example.se", "cfo@example.se"],
    subject="Payments of 2026-12-02",
    text="3 payments cleared",
    html="<p>3 payments cleared</p>",
    reference="cmd-1",
)


@pytest.mark.anyio
async def test_sendgrid_posts_v3_mail_send_with_the_bearer_key_and_reads_x_message_id() -> None:
    sender, seen = sendgrid(
        lambda r: httpx.Response(202, headers={"X-Message-Id": "sg-msg-123"}, content=b"")
    )
    receipt = await sender.send(EMAIL)
    request = seen[0]
    assert request.method == "POST"
    assert request.url.path == "/v3/mail/send"
    assert request.headers["Authorization"] == f"Bearer {SG_KEY}"
    payload = json.loads(request.content)
    assert payload == {
        "personalizations": [{"to": [{"email": "ap@example.se"}, {"email": "cfo@example.se"}]}],
        "from": {"email": "alerts@mlc.example", "name": "ml-connector"},
        "subject": "Payments of 2026-12-02",
        "content": [
            {"type": "text/plain", "value": "3 payments cleared"},
            {"type": "text/html", "value": "<p>3 payments cleared</p>"},
        ],
        "custom_args": {"mlc_command_id": "cmd-1"},
    }
    assert (receipt.provider, receipt.message_id) == ("sendgrid", "sg-msg-123")


@pytest.mark.parametrize(
    ("status", "error", "branch"),
    [
        (400, TwilioRequestError, PermanentError),
        (401, TwilioAuthError, PermanentError),
        (403, TwilioAuthError, PermanentError),
        (429, TwilioTooManyRequests, SystemUnavailable),
        (500, TwilioServerError, RetryableError),
        (503, TwilioUnavailable, SystemUnavailable),
    ],
)
@pytest.mark.anyio
async def test_sendgrid_errors_say_whether_a_retry_helps(
    status: int, error: type[Exception], branch: type[Exception]
) -> None:
    body = {"errors": [{"message": "The from address does not match", "field": "from"}]}
    sender, _ = sendgrid(lambda r: httpx.Response(status, json=body))
    with pytest.raises(error) as raised:
        await sender.send(EMAIL)
    assert isinstance(raised.value, branch)
    assert "The from address does not match" in str(raised.value)
    assert SG_KEY not in str(raised.value)
