"""The Twilio sandbox's account reads as Twilio's official `twilio.rest.Client` sees them.

`mlc check` fetches the Account resource, lists the account's IncomingPhoneNumbers by
`PhoneNumber` and reads a Messaging Service with its sender pool; the SDK, pointed at the
sandbox, parses them (the fields of the spec's
`api.v2010.account` and `api.v2010.account.incoming_phone_number` schemas), pages the
number list, and sees a wrong Auth Token as error 20003. Reading changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sandbox_kit import frozen_config
from twilio.base.exceptions import TwilioRestException
from twilio_kit import ServedSandbox, served

from sandbox.twilio.config import (
    DEMO_ACCOUNT_SID,
    DEMO_API_KEY_SECRET,
    DEMO_API_KEY_SID,
    DEMO_FROM,
    DEMO_MESSAGING_SERVICE_SID,
)

pytestmark = pytest.mark.unit

ACCOUNT_FIELDS = {
    "auth_token", "date_created", "date_updated", "friendly_name", "owner_account_sid", "sid",
    "status", "subresource_uris", "type", "uri",
}  # fmt: skip
"""The properties of `api.v2010.account` in Twilio's OpenAPI spec (2010-04-01)."""
NUMBER_PAGE_FIELDS = {
    "end", "first_page_uri", "next_page_uri", "page", "page_size", "previous_page_uri",
    "start", "uri", "incoming_phone_numbers",
}  # fmt: skip
"""The properties of the spec's ListIncomingPhoneNumberResponse."""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ServedSandbox]:
    with served(frozen_config()) as running:
        yield running


def test_the_account_is_fetched_with_the_spec_fields(sandbox: ServedSandbox) -> None:
    account = sandbox.client().api.v2010.accounts(DEMO_ACCOUNT_SID).fetch()

    assert account.sid == DEMO_ACCOUNT_SID
    assert account.status == "active"
    assert account.type == "Full"
    assert account.friendly_name == "ml-connector demo"
    raw = httpx.get(
        f"{sandbox.url}/twilio/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}.json",
        auth=(DEMO_API_KEY_SID, DEMO_API_KEY_SECRET),
    ).json()
    assert set(raw) == ACCOUNT_FIELDS
    assert raw["uri"] == f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}.json"


def test_numbers_are_listed_filtered_by_phone_number_and_paged(sandbox: ServedSandbox) -> None:
    numbers = sandbox.client().incoming_phone_numbers

    found = numbers.list(phone_number=DEMO_FROM)
    voice_only = numbers.list(phone_number="+15005550007")
    everything = numbers.list(page_size=1)

    assert [(n.phone_number, n.capabilities["sms"]) for n in found] == [(DEMO_FROM, True)]
    assert re.fullmatch(r"PN[0-9a-f]{32}", found[0].sid)
    assert found[0].account_sid == DEMO_ACCOUNT_SID
    assert [(n.phone_number, n.capabilities["sms"]) for n in voice_only] == [
        ("+15005550007", False)
    ]
    assert numbers.list(phone_number="+46700000999") == []
    # One number a page: the SDK follows next_page_uri through all three.
    assert sorted(n.phone_number for n in everything) == [
        "+15005550006", "+15005550007", "+46769440000"
    ]  # fmt: skip
    raw = httpx.get(
        f"{sandbox.url}/twilio/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/IncomingPhoneNumbers.json",
        params={"PhoneNumber": DEMO_FROM},
        auth=(DEMO_API_KEY_SID, DEMO_API_KEY_SECRET),
    ).json()
    assert set(raw) == NUMBER_PAGE_FIELDS
    assert raw["next_page_uri"] is None


def test_a_wrong_auth_token_is_20003_and_nothing_was_sent(sandbox: ServedSandbox) -> None:
    with pytest.raises(TwilioRestException) as refused:
        sandbox.client(password="0" * 32).api.v2010.accounts(DEMO_ACCOUNT_SID).fetch()

    assert (refused.value.status, refused.value.code) == (401, 20003)
    assert sandbox.admin.get("/stats").json()["created"] == 0


def test_a_messaging_service_and_its_senders_as_the_messaging_api_answers(
    sandbox: ServedSandbox,
) -> None:
    client = sandbox.client(DEMO_API_KEY_SID, DEMO_API_KEY_SECRET)
    client.messaging.base_url = f"{sandbox.url}/twilio"  # the domain override
    service = client.messaging.v1.services(DEMO_MESSAGING_SERVICE_SID)

    fetched = service.fetch()
    senders = service.phone_numbers.list()

    assert (fetched.sid, fetched.account_sid) == (DEMO_MESSAGING_SERVICE_SID, DEMO_ACCOUNT_SID)
    assert fetched.date_created is not None
    assert [(n.phone_number, n.capabilities) for n in senders] == [(DEMO_FROM, ["SMS", "MMS"])]
    assert senders[0].service_sid == DEMO_MESSAGING_SERVICE_SID
    with pytest.raises(TwilioRestException) as unknown:
        client.messaging.v1.services("MG" + "0" * 32).fetch()
    assert (unknown.value.status, unknown.value.code) == (404, 20404)
