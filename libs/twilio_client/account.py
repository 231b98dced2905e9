"""Reads of a Twilio account itself: the Account resource and the phone numbers it owns.

`mlc check` asks these to prove a credential without sending anything: `fetch` is
`GET /2010-04-01/Accounts/{Sid}.json` (status `active`, `suspended` or `closed`; type `Trial`
or `Full`), `owned_number` lists `IncomingPhoneNumbers.json` filtered by `PhoneNumber` and
says whether the account owns the From number and whether it can send SMS,
`messaging_service` reads a Messaging Service and its sender pool from the Messaging API
(`/v1/Services/{Sid}` and its `PhoneNumbers`, on messaging.twilio.com).
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict, Field

from twilio_client.messages import parse_twilio, twilio_request
from twilio_client.models import TwilioCredentials

__all__ = [
    "MESSAGING_BASE_URL",
    "AccountInfo",
    "MessagingService",
    "OwnedNumber",
    "TwilioAccount",
]

MESSAGING_BASE_URL = "https://messaging.twilio.com"


class AccountInfo(BaseModel):
    """The Account resource's fields a check reads (never its `auth_token`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sid: str
    friendly_name: str | None = None
    status: str
    type: str | None = None


class Capabilities(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    sms: bool = False
    mms: bool = False
    voice: bool = False


class OwnedNumber(BaseModel):
    """One IncomingPhoneNumber of the account."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sid: str
    phone_number: str
    capabilities: Capabilities = Field(default_factory=Capabilities)


class MessagingService(BaseModel):
    """A Messaging Service and the numbers in its sender pool (messaging.twilio.com/v1)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sid: str
    friendly_name: str | None = None
    senders: tuple[str, ...] = ()


class _ServiceNumber(BaseModel):
    model_config = ConfigDict(extra="ignore")

    phone_number: str


class _ServiceNumbers(BaseModel):
    model_config = ConfigDict(extra="ignore")

    phone_numbers: list[_ServiceNumber]


class _NumberPage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    incoming_phone_numbers: list[OwnedNumber]


class TwilioAccount:
    """One account's own resources, over a client whose base URL is Twilio's API host."""

    def __init__(self, http: httpx.AsyncClient, *, credentials: TwilioCredentials) -> None:
        self._http = http
        self._auth = httpx.BasicAuth(credentials.username, credentials.secret.get_secret_value())
        self._path = f"/2010-04-01/Accounts/{credentials.account_sid}"

    async def fetch(self) -> AccountInfo:
        response = await twilio_request(self._http, "GET", f"{self._path}.json", auth=self._auth)
        return parse_twilio(AccountInfo, response)

    async def owned_number(self, phone_number: str) -> OwnedNumber | None:
        """The account's number `phone_number` (E.164), or None when it owns no such number."""
        response = await twilio_request(
            self._http,
            "GET",
            f"{self._path}/IncomingPhoneNumbers.json",
            auth=self._auth,
            params={"PhoneNumber": phone_number, "PageSize": 20},
        )
        page = parse_twilio(_NumberPage, response)
        return next(
            (n for n in page.incoming_phone_numbers if n.phone_number == phone_number), None
        )

    async def messaging_service(
        self, sid: str, *, base_url: str = MESSAGING_BASE_URL
    ) -> MessagingService:
        """The Messaging Service `sid` with its sender numbers (a 20404 when the account has
        no such service)."""
        url = f"{base_url.rstrip('/')}/v1/Services/{sid}"
        service = await twilio_request(self._http, "GET", url, auth=self._auth)
        numbers = await twilio_request(
            self._http, "GET", f"{url}/PhoneNumbers", auth=self._auth, params={"PageSize": 50}
        )
        pool = parse_twilio(_ServiceNumbers, numbers).phone_numbers
        found = parse_twilio(MessagingService, service)
        return found.model_copy(update={"senders": tuple(n.phone_number for n in pool)})
