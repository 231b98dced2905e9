"""Twilio accounts as the sandbox knows them, and HTTP Basic authentication against them.

A REST call authenticates as ``AccountSid:AuthToken`` or as ``ApiKeySid:ApiKeySecret``
for a key that belongs to the account in the URL. Anything else (no header, a wrong
secret, a key of another account, an account SID in the URL that is not the caller's) is
error 20003 with HTTP 401, as Twilio answers it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field

from sandbox.twilio.config import TwilioAccountSeed
from sandbox.twilio.errors import TwilioApiError


@dataclass
class Account:
    sid: str
    auth_token: str
    api_keys: dict[str, str]
    """API key SID to its secret."""
    numbers: set[str]
    not_sms_capable: set[str]
    messaging_services: dict[str, list[str]]
    concurrency_limit: int
    friendly_name: str = ""
    status: str = "active"
    type: str = "Full"
    in_flight: int = 0
    peak_in_flight: int = 0
    throttled: int = 0
    revoked_keys: set[str] = field(default_factory=set)

    @classmethod
    def from_seed(cls, seed: TwilioAccountSeed) -> Account:
        return cls(
            sid=seed.sid,
            auth_token=seed.auth_token.get_secret_value(),
            api_keys={k.sid: k.secret.get_secret_value() for k in seed.api_keys},
            numbers=set(seed.numbers),
            not_sms_capable=set(seed.not_sms_capable),
            messaging_services={k: list(v) for k, v in seed.messaging_services.items()},
            concurrency_limit=seed.concurrency_limit,
            friendly_name=seed.friendly_name,
            status=seed.status,
            type=seed.type,
        )

    def accepts(self, username: str, password: str) -> bool:
        if username == self.sid:
            return hmac.compare_digest(password, self.auth_token)
        secret = self.api_keys.get(username)
        if secret is None or username in self.revoked_keys:
            return False
        return hmac.compare_digest(password, secret)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(username, password) from an ``Authorization: Basic`` header, or None."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def authenticate(accounts: dict[str, Account], account_sid: str, header: str | None) -> Account:
    """The account in the URL, if the caller's credentials are its own; else 20003."""
    credentials = basic_credentials(header)
    account = accounts.get(account_sid)
    if credentials is None or account is None or not account.accepts(*credentials):
        raise TwilioApiError(20003)
    return account
