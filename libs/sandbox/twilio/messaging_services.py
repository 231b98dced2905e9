"""Messaging Services as messaging.twilio.com/v1 shows them: the service and its senders.

``GET /v1/Services/{Sid}`` and ``GET /v1/Services/{Sid}/PhoneNumbers`` as Twilio's
official SDK reads them (``twilio.rest.messaging.v1.service``: ``sid``, ``account_sid``,
``friendly_name``, ISO 8601 dates, ``url``, ``links``; a number's ``phone_number``,
``country_code`` and ``capabilities`` as a list of strings), the list in the v1 envelope
(``meta`` with ``key``, ``page``, ``page_size`` and the page URLs). The sandbox serves them
on the Twilio app beside api.twilio.com's paths, so a client's messaging base URL is the
same ``{sandbox}/twilio``. A service of another account is 20404, as Twilio answers it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.twilio.account_resources import number_sid
from sandbox.twilio.accounts import Account, basic_credentials
from sandbox.twilio.errors import TwilioApiError

__all__ = ["caller_account", "service_numbers_page", "service_resource"]


def caller_account(accounts: dict[str, Account], header: str | None) -> Account:
    """The account whose Auth Token or API key signed the request (no SID in these URLs)."""
    credentials = basic_credentials(header)
    if credentials is not None:
        for account in accounts.values():
            if account.accepts(*credentials):
                return account
    raise TwilioApiError(20003)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _senders(account: Account, sid: str, path: str) -> list[str]:
    if sid not in account.messaging_services:
        raise TwilioApiError(20404, f"The requested resource {path} was not found")
    return account.messaging_services[sid]


def service_resource(account: Account, sid: str, *, created: float) -> dict[str, object]:
    url = f"https://messaging.twilio.com/v1/Services/{sid}"
    _senders(account, sid, f"/v1/Services/{sid}")
    return {
        "sid": sid,
        "account_sid": account.sid,
        "friendly_name": f"{account.friendly_name} sender pool",
        "date_created": _iso(created),
        "date_updated": _iso(created),
        "sticky_sender": True,
        "mms_converter": True,
        "smart_encoding": True,
        "fallback_to_long_code": True,
        "area_code_geomatch": True,
        "validity_period": 14400,
        "usecase": "notifications",
        "url": url,
        "links": {"phone_numbers": f"{url}/PhoneNumbers"},
    }


def service_numbers_page(account: Account, sid: str, *, created: float) -> dict[str, object]:
    """Every sender of the service on one page (a pool holds a handful)."""
    senders = _senders(account, sid, f"/v1/Services/{sid}/PhoneNumbers")
    url = f"https://messaging.twilio.com/v1/Services/{sid}/PhoneNumbers?PageSize=50&Page=0"
    numbers = [
        {
            "sid": number_sid(account, number),
            "account_sid": account.sid,
            "service_sid": sid,
            "phone_number": number,
            "country_code": "US" if number.startswith("+1") else "SE",
            "capabilities": ["SMS", "MMS"] if number in account.numbers else ["Voice"],
            "date_created": _iso(created),
            "date_updated": _iso(created),
            "url": f"https://messaging.twilio.com/v1/Services/{sid}/PhoneNumbers/{number}",
        }
        for number in senders
    ]
    meta = {"page": 0, "page_size": 50, "first_page_url": url, "previous_page_url": None,
            "url": url, "next_page_url": None, "key": "phone_numbers"}  # fmt: skip
    return {"phone_numbers": numbers, "meta": meta}
