"""The Twilio and SendGrid probes: the account and its From number, the email key's scopes.

Twilio: the Account resource (`GET /Accounts/{Sid}.json`: the credential works and the
account is `active`), then, when the sink sends from a number, that the account owns it and
it can send SMS (`IncomingPhoneNumbers.json?PhoneNumber=`), and when it sends through a
Messaging Service, that the service exists with a sender (messaging.twilio.com
`/v1/Services/{Sid}` and its `PhoneNumbers`). SendGrid: `GET /v3/scopes`, and
whether the key may `mail.send`. Reads only: no message, no email.
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from credential_check.config import SendGridCheck, TwilioCheck
from credential_check.result import Outcome
from twilio_client.account import TwilioAccount
from twilio_client.errors import TwilioAuthError, TwilioRequestError
from twilio_client.mail import sendgrid_scopes
from twilio_client.models import TwilioCredentials

__all__ = ["probe_sendgrid", "probe_twilio"]


async def probe_twilio(entry: TwilioCheck, secret: SecretStr, http: httpx.AsyncClient) -> Outcome:
    credentials = TwilioCredentials(
        account_sid=entry.account_sid, secret=secret, api_key_sid=entry.api_key_sid
    )
    account = TwilioAccount(http, credentials=credentials)
    try:
        info = await account.fetch()
    except TwilioAuthError as exc:
        return Outcome(
            False,
            f"Twilio refused the credentials for {entry.account_sid}: {exc}",
            f"store the account's current Auth Token or key: mlc secrets set {entry.credential}",
        )
    seen = f"account {entry.account_sid} {info.status}"
    if info.type:
        seen += f" ({info.type})"
    if info.status != "active":
        return Outcome(False, seen, "the account cannot send: reactivate it in the Twilio Console")
    for sender in (_from_number, _messaging_service):
        verdict = await sender(entry, account, seen)
        if not verdict.ok:
            return verdict
        seen = verdict.detail
    return Outcome(True, seen)


async def _from_number(entry: TwilioCheck, account: TwilioAccount, seen: str) -> Outcome:
    if entry.from_number is None:
        return Outcome(True, seen)
    owned = await account.owned_number(entry.from_number)
    if owned is None:
        return Outcome(
            False,
            f"{seen}; the account does not own From {entry.from_number}",
            "buy or port the number into this account, or fix the sink's From number",
        )
    if not owned.capabilities.sms:
        return Outcome(
            False,
            f"{seen}; From {entry.from_number} cannot send SMS",
            "use an SMS-capable number as the sink's From",
        )
    return Outcome(True, f"{seen}; From {entry.from_number} owned, SMS-capable")


async def _messaging_service(entry: TwilioCheck, account: TwilioAccount, seen: str) -> Outcome:
    sid = entry.messaging_service_sid
    if sid is None:
        return Outcome(True, seen)
    try:
        service = await account.messaging_service(sid, base_url=entry.messaging_api_base)
    except TwilioRequestError as exc:
        if exc.status != 404:
            raise
        return Outcome(
            False,
            f"{seen}; no Messaging Service {sid} in the account",
            "fix the sink's Messaging Service SID, or create the service in this account",
        )
    if not service.senders:
        return Outcome(
            False,
            f"{seen}; Messaging Service {sid} has no sender number",
            "add a number to the service's sender pool in the Twilio Console",
        )
    return Outcome(True, f"{seen}; Messaging Service {sid} with {len(service.senders)} sender(s)")


async def probe_sendgrid(
    entry: SendGridCheck, secret: SecretStr, http: httpx.AsyncClient
) -> Outcome:
    try:
        scopes = await sendgrid_scopes(http, api_key=secret)
    except TwilioAuthError as exc:
        return Outcome(
            False,
            f"SendGrid refused the API key: {exc.detail}",
            f"create a key with Mail Send in SendGrid and store it: "
            f"mlc secrets set {entry.credential}",
        )
    missing = sorted(set(entry.scopes) - set(scopes))
    if missing:
        return Outcome(
            False,
            f"key valid; missing scopes: {', '.join(missing)}",
            "give the key the scopes in SendGrid (Settings > API Keys), or store one that has",
        )
    return Outcome(True, f"key valid; scopes include {', '.join(sorted(entry.scopes))}")
