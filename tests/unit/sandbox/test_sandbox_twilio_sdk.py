"""The Twilio sandbox as Twilio's official `twilio.rest.Client` sees it.

The client's API domain is pointed at the sandbox; it creates messages and reads them back
(every field of the spec's message schema is in the answer and parses in the SDK's
MessageInstance), authenticates with the Account SID and Auth Token and with an API key,
lists with To/DateSent filters and pages through the list while messages are added, and
surfaces each error as a `TwilioRestException` with Twilio's code and HTTP status.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from sandbox_kit import START, frozen_config
from twilio.base.exceptions import TwilioRestException
from twilio_kit import ServedSandbox, served

from sandbox.twilio.config import (
    DEMO_ACCOUNT_SID,
    DEMO_API_KEY_SECRET,
    DEMO_API_KEY_SID,
    DEMO_AUTH_TOKEN,
    DEMO_FROM,
    DEMO_MESSAGING_SERVICE_SID,
)

pytestmark = pytest.mark.unit

MESSAGE_FIELDS = {
    "body", "num_segments", "direction", "from", "to", "date_updated", "price",
    "error_message", "uri", "account_sid", "num_media", "status", "messaging_service_sid",
    "sid", "date_sent", "date_created", "error_code", "price_unit", "api_version",
    "subresource_uris",
}  # fmt: skip
"""The properties of `api.v2010.account.message` in Twilio's OpenAPI spec (2010-04-01)."""

RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
OTHER_ACCOUNT = "AC" + "ab" * 16


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ServedSandbox]:
    with served(frozen_config()) as running:
        seed = {"sid": OTHER_ACCOUNT, "auth_token": "other-token",
                "api_keys": [{"sid": "SK" + "cd" * 16, "secret": "other-secret"}]}  # fmt: skip
        running.admin.post("/accounts", json=seed).raise_for_status()
        yield running


def test_a_created_message_is_fetched_back_with_every_field(sandbox: ServedSandbox) -> None:
    client = sandbox.client()
    created = client.messages.create(to="+46701110001", from_=DEMO_FROM, body="Invoice 1 over")
    raw = httpx.get(
        f"{sandbox.url}/twilio{created.uri}", auth=(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
    ).json()
    assert set(raw) == MESSAGE_FIELDS
    assert all(RFC2822.match(raw[k]) for k in ("date_created", "date_updated"))
    fetched = client.messages(created.sid).fetch()
    assert re.fullmatch(r"SM[0-9a-f]{32}", fetched.sid)
    assert fetched.sid == created.sid
    assert fetched.account_sid == DEMO_ACCOUNT_SID
    assert (fetched.to, fetched.from_, fetched.body) == (
        "+46701110001",
        DEMO_FROM,
        "Invoice 1 over",
    )
    assert fetched.status == "queued"
    assert fetched.direction == "outbound-api"
    assert fetched.num_segments == "1"
    assert fetched.error_code is None
    assert fetched.error_message is None
    assert fetched.date_created == START
    assert fetched.date_sent is None
    assert fetched.api_version == "2010-04-01"
    assert fetched.uri == f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Messages/{created.sid}.json"


def test_statuses_move_on_the_sandbox_clock(sandbox: ServedSandbox) -> None:
    client = sandbox.client()
    ok = client.messages.create(to="+46701110002", from_=DEMO_FROM, body="ok")
    bad = client.messages.create(to="+46700030003", from_=DEMO_FROM, body="unreachable")
    failed = client.messages.create(to="+46700030006", from_=DEMO_FROM, body="landline")
    sandbox.advance(1.0)
    assert client.messages(ok.sid).fetch().status == "sent"
    assert client.messages(failed.sid).fetch().status == "failed"
    sandbox.advance(3.0)
    delivered = client.messages(ok.sid).fetch()
    assert delivered.status == "delivered"
    assert delivered.date_sent == START + timedelta(seconds=1)
    assert delivered.price == "-0.00790"
    undelivered = client.messages(bad.sid).fetch()
    assert (undelivered.status, undelivered.error_code) == ("undelivered", 30003)
    assert undelivered.error_message == "Unreachable destination handset"
    assert client.messages(failed.sid).fetch().error_code == 30006


def test_an_api_key_of_the_account_authenticates(sandbox: ServedSandbox) -> None:
    client = sandbox.client(DEMO_API_KEY_SID, DEMO_API_KEY_SECRET)
    sent = client.messages.create(to="+46701110003", from_=DEMO_FROM, body="by key")
    assert client.messages(sent.sid).fetch().body == "by key"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        (DEMO_ACCOUNT_SID, "wrong-token"),
        (DEMO_API_KEY_SID, "wrong-secret"),
        ("SK" + "cd" * 16, "other-secret"),  # a key of another account
        (OTHER_ACCOUNT, "other-token"),  # another account's own credentials
    ],
)
def test_other_credentials_get_20003(sandbox: ServedSandbox, username: str, password: str) -> None:
    with pytest.raises(TwilioRestException) as caught:
        sandbox.client(username, password).messages.create(
            to="+46701110004", from_=DEMO_FROM, body="x"
        )
    assert (caught.value.status, caught.value.code) == (401, 20003)


@pytest.mark.parametrize(
    ("to", "sender", "code"),
    [
        ("0701234567", DEMO_FROM, 21211),  # not E.164
        ("+15005550001", DEMO_FROM, 21211),  # Twilio's magic invalid number
        ("+15005550004", DEMO_FROM, 21610),  # unsubscribed (replied STOP)
        ("+33612345678", DEMO_FROM, 21408),  # a region the account has not enabled
        ("+46701110005", "+15005550007", 21606),  # owned but not SMS-capable
        ("+46701110005", "+46700000000", 21659),  # not a number of the account
    ],
)
def test_permanent_errors_come_with_their_code(
    sandbox: ServedSandbox, to: str, sender: str, code: int
) -> None:
    before = len(sandbox.admin.get("/messages").json())
    with pytest.raises(TwilioRestException) as caught:
        sandbox.client().messages.create(to=to, from_=sender, body="x")
    assert (caught.value.status, caught.value.code) == (400, code)
    assert caught.value.msg
    assert len(sandbox.admin.get("/messages").json()) == before  # nothing stored


def test_a_messaging_service_picks_the_sender(sandbox: ServedSandbox) -> None:
    client = sandbox.client()
    sent = client.messages.create(
        to="+46701110006", messaging_service_sid=DEMO_MESSAGING_SERVICE_SID, body="pooled"
    )
    assert (sent.status, sent.from_) == ("accepted", None)
    sandbox.advance(1.0)
    assert client.messages(sent.sid).fetch().from_ == DEMO_FROM


def test_list_filters_by_to_and_date_sent(sandbox: ServedSandbox) -> None:
    client = sandbox.client()
    sids = {client.messages.create(to="+46701110007", from_=DEMO_FROM, body=f"n{n}").sid
            for n in range(3)}  # fmt: skip
    client.messages.create(to="+46701110008", from_=DEMO_FROM, body="other recipient")
    day = datetime(START.year, START.month, START.day)
    assert {m.sid for m in client.messages.list(to="+46701110007")} == sids
    assert {m.sid for m in client.messages.list(to="+46701110007", date_sent=day)} == sids
    after = client.messages.list(to="+46701110007", date_sent_after=START + timedelta(days=1))
    before = client.messages.list(to="+46701110007", date_sent_before=START - timedelta(days=1))
    assert after == []
    assert before == []


def test_paging_while_messages_are_added_sees_each_message_once(sandbox: ServedSandbox) -> None:
    client = sandbox.client()
    to = "+46701110009"
    older = [client.messages.create(to=to, from_=DEMO_FROM, body=f"m{n}").sid for n in range(7)]
    seen: list[str] = []
    for message in client.messages.stream(to=to, page_size=3):
        seen.append(message.sid)
        if len(seen) in (2, 4):  # new messages arrive between pages
            client.messages.create(to=to, from_=DEMO_FROM, body=f"late {len(seen)}")
    assert seen == list(reversed(older))  # newest first, nothing twice, nothing skipped
    page = client.messages.page(to=to, page_size=3)
    assert page.next_page() is not None
    assert len(client.messages.list(to=to)) == 9


def test_too_many_concurrent_requests_is_20429(sandbox: ServedSandbox) -> None:
    sandbox.admin.patch("/settings", json={"api_latency_seconds": 3.0}).raise_for_status()
    sandbox.admin.patch(f"/accounts/{DEMO_ACCOUNT_SID}", json={"concurrency_limit": 2})
    holders = [threading.Thread(target=lambda: sandbox.client().messages.list(limit=1))
               for _ in range(2)]  # fmt: skip
    try:
        for holder in holders:
            holder.start()
        deadline = time.monotonic() + 10
        while _in_flight(sandbox) < 2:
            assert time.monotonic() < deadline, "the two slow calls never both started"
        with pytest.raises(TwilioRestException) as caught:
            sandbox.client().messages.create(to="+46701110010", from_=DEMO_FROM, body="x")
        assert (caught.value.status, caught.value.code) == (429, 20429)
    finally:
        for holder in holders:
            holder.join()
        sandbox.admin.patch("/settings", json={"api_latency_seconds": 0.0})
        sandbox.admin.patch(f"/accounts/{DEMO_ACCOUNT_SID}", json={"concurrency_limit": 100})
    assert _account(sandbox)["throttled"] == 1
    assert _account(sandbox)["peak_in_flight"] == 2


def test_injected_5xx_is_twilio_shaped(sandbox: ServedSandbox) -> None:
    sandbox.admin.post("/faults", json={"status": 503, "times": 1}).raise_for_status()
    with pytest.raises(TwilioRestException) as caught:
        sandbox.client().messages.create(to="+46701110011", from_=DEMO_FROM, body="x")
    assert (caught.value.status, caught.value.code) == (503, 20503)


def _account(sandbox: ServedSandbox) -> dict[str, object]:
    accounts = sandbox.admin.get("/accounts").json()
    found: dict[str, object] = next(a for a in accounts if a["sid"] == DEMO_ACCOUNT_SID)
    return found


def _in_flight(sandbox: ServedSandbox) -> int:
    return int(str(_account(sandbox)["in_flight"]))
