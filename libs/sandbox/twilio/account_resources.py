"""The Account resource and the account's IncomingPhoneNumbers, rendered as Twilio does.

Field names follow the ``api.v2010.account`` and ``api.v2010.account.incoming_phone_number``
schemas of Twilio's OpenAPI spec (2010-04-01): an account's ``status`` is ``active``,
``suspended`` or ``closed`` and its ``type`` ``Trial`` or ``Full``; a number carries its
E.164 ``phone_number`` and ``capabilities`` (``sms``, ``mms``, ``voice``, ``fax``). The list
is Twilio's paged envelope (``incoming_phone_numbers``, ``page``, ``page_size``,
``next_page_uri``, ...) filtered by ``PhoneNumber``. The sandbox keeps no creation dates for
these, so ``date_created`` is the sandbox's start.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from sandbox.twilio.accounts import Account
from sandbox.twilio.messages import API_VERSION, rfc2822

__all__ = ["account_resource", "number_sid", "numbers_page"]


def account_resource(account: Account, *, created: float) -> dict[str, object]:
    uri = f"/{API_VERSION}/Accounts/{account.sid}"
    return {
        "sid": account.sid,
        "owner_account_sid": account.sid,
        "friendly_name": account.friendly_name,
        "status": account.status,
        "type": account.type,
        "auth_token": account.auth_token,
        "date_created": rfc2822(created),
        "date_updated": rfc2822(created),
        "uri": f"{uri}.json",
        "subresource_uris": {
            "messages": f"{uri}/Messages.json",
            "incoming_phone_numbers": f"{uri}/IncomingPhoneNumbers.json",
        },
    }


def number_sid(account: Account, phone_number: str) -> str:
    """The number's ``PN...`` SID, the same wherever the sandbox shows it."""
    return "PN" + hashlib.sha256(f"{account.sid}{phone_number}".encode()).hexdigest()[:32]


def _number(account: Account, phone_number: str, *, created: float) -> dict[str, object]:
    sid = number_sid(account, phone_number)
    sms = phone_number in account.numbers
    return {
        "sid": sid,
        "account_sid": account.sid,
        "phone_number": phone_number,
        "friendly_name": phone_number,
        "capabilities": {"sms": sms, "mms": sms, "voice": True, "fax": False},
        "status": "in-use",
        "origin": "twilio",
        "api_version": API_VERSION,
        "date_created": rfc2822(created),
        "date_updated": rfc2822(created),
        "uri": f"/{API_VERSION}/Accounts/{account.sid}/IncomingPhoneNumbers/{sid}.json",
    }


def numbers_page(
    account: Account, query: dict[str, str], *, created: float, max_page_size: int
) -> dict[str, object]:
    """One page of the account's numbers (``PhoneNumber`` filters by exact number)."""
    wanted = query.get("PhoneNumber")
    owned = sorted(account.numbers | account.not_sms_capable)
    matching = [n for n in owned if wanted is None or n == wanted.strip()]
    try:
        size = max(1, min(int(query.get("PageSize", "50")), max_page_size))
        page = max(0, int(query.get("Page", "0")))
    except ValueError:
        size, page = 50, 0
    chunk = matching[page * size : (page + 1) * size]
    path = f"/{API_VERSION}/Accounts/{account.sid}/IncomingPhoneNumbers.json"
    kept = {k: v for k, v in query.items() if k == "PhoneNumber"}

    def uri(number: int) -> str:
        return f"{path}?{urlencode({**kept, 'PageSize': size, 'Page': number})}"

    has_next = (page + 1) * size < len(matching)
    return {
        "incoming_phone_numbers": [_number(account, n, created=created) for n in chunk],
        "page": page,
        "page_size": size,
        "start": page * size,
        "end": page * size + max(0, len(chunk) - 1),
        "uri": uri(page),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) if has_next else None,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
    }
