"""One read-only probe per system for `mlc check`: does this credential still work?

Each probe uses the system's own client and calls only methods that change nothing (Slack
auth.test and conversations.list, Twilio's Messages list), times the whole probe and turns
the answer into one `CheckResult`: OK, or the exact reason and what an operator should do.
A `ConnectorError` from a client is a failed check, never a crash: the other checks still run.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from chassis.errors import ConnectorError
from chassis.vault import CredentialNotFound
from mlc.check_config import SlackCheck, TwilioCheck
from slack_client.client import SlackClient
from slack_client.errors import SlackCredentialError
from twilio_client.errors import TwilioAuthError
from twilio_client.messages import TwilioMessages
from twilio_client.models import TwilioCredentials

__all__ = ["CheckResult", "HttpFactory", "probe"]

HttpFactory = Callable[[str], httpx.AsyncClient]
"""An `httpx.AsyncClient` based at an API base (tests hand in the in-process sandbox)."""


@dataclass(frozen=True)
class CheckResult:
    system: str
    credential: str
    ok: bool
    detail: str
    """What was seen when OK; the exact reason when not."""
    latency_ms: float
    action: str = ""
    """What to do about a failure."""

    def line(self) -> str:
        state = "OK  " if self.ok else "FAIL"
        text = f"{self.system:<8} {self.credential:<28} {state} {self.latency_ms:7.0f} ms  "
        text += self.detail
        return text + (f"  -> {self.action}" if self.action else "")


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    detail: str
    action: str = ""


async def _slack(entry: SlackCheck, secret: SecretStr, http: httpx.AsyncClient) -> _Outcome:
    client = SlackClient(http, token=secret)
    try:
        me = await client.auth_test()
    except SlackCredentialError as exc:
        return _Outcome(
            False,
            f"Slack refused the token: {exc.error}",
            f"reinstall the app or store a new token: mlc secrets set {entry.credential}",
        )
    seen = f"team {me.team or me.team_id}, bot {me.user or me.user_id}"
    if me.scopes is not None:
        missing = sorted(set(entry.scopes) - set(me.scopes))
        if missing:
            return _Outcome(
                False,
                f"{seen}; missing scopes: {', '.join(missing)}",
                "add the scopes to the Slack app and reinstall it",
            )
        seen += f"; scopes {','.join(me.scopes)}"
    absent: list[str] = []
    for name in entry.channels:
        channel = await client.channel(name)
        if channel is None or channel.is_member is False:
            absent.append(f"#{name.lstrip('#')}" + (" (not found)" if channel is None else ""))
    if absent:
        return _Outcome(
            False,
            f"{seen}; bot is not in {', '.join(absent)}",
            "invite the bot: /invite @<bot> in each channel",
        )
    if entry.channels:
        seen += f"; member of {len(entry.channels)} channel(s)"
    return _Outcome(True, seen)


async def _twilio(entry: TwilioCheck, secret: SecretStr, http: httpx.AsyncClient) -> _Outcome:
    credentials = TwilioCredentials(
        account_sid=entry.account_sid, secret=secret, api_key_sid=entry.api_key_sid
    )
    try:
        await TwilioMessages(http, credentials=credentials).recent(1)
    except TwilioAuthError as exc:
        return _Outcome(
            False,
            f"Twilio refused the credentials for {entry.account_sid}: {exc}",
            f"store the account's current Auth Token or key: mlc secrets set {entry.credential}",
        )
    return _Outcome(True, f"account {entry.account_sid} readable")


async def probe(
    entry: SlackCheck | TwilioCheck,
    *,
    secret: Callable[[str], SecretStr],
    http: HttpFactory,
) -> CheckResult:
    """`entry`'s credential checked against its system; never raises a `ConnectorError`."""
    started = time.perf_counter()
    try:
        value = secret(entry.credential)
    except CredentialNotFound as exc:
        outcome = _Outcome(False, str(exc), f"store it: mlc secrets set {entry.credential}")
        return _result(entry, outcome, started)
    try:
        async with http(entry.api_base) as client:
            outcome = await _run(entry, value, client)
    except ConnectorError as exc:
        outcome = _Outcome(False, str(exc), _generic_action(entry))
    return _result(entry, outcome, started)


def _result(entry: SlackCheck | TwilioCheck, outcome: _Outcome, started: float) -> CheckResult:
    elapsed = (time.perf_counter() - started) * 1000
    return CheckResult(
        system=entry.system,
        credential=entry.credential,
        ok=outcome.ok,
        detail=outcome.detail,
        latency_ms=elapsed,
        action=outcome.action,
    )


def _run(
    entry: SlackCheck | TwilioCheck, value: SecretStr, client: httpx.AsyncClient
) -> Awaitable[_Outcome]:
    if isinstance(entry, SlackCheck):
        return _slack(entry, value, client)
    return _twilio(entry, value, client)


def _generic_action(entry: SlackCheck | TwilioCheck) -> str:
    return f"check that {entry.api_base} is the system's API base and reachable"
