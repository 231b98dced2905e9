"""One read-only probe per system: does this credential still work?

Each probe uses the system's own client and calls only methods that change nothing (Slack
auth.test and conversations.list, monday's `me`, ...; Visma in `probe_visma`, Twilio and
SendGrid in `probe_twilio`), times the whole probe and turns the answer into one
`CheckResult`: OK, or the exact reason and what an operator should do, with the headroom
left before a limit. A `ConnectorError` from a client is a failed check, never a crash: the
other checks still run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr

from airbase_client.client import AirbaseClient
from airbase_client.errors import AirbaseCredentialsRefused
from bill_client.client import BillClient
from bill_client.errors import BillAuthError
from bill_client.models import BillCredentials
from chassis.errors import ConnectorError
from chassis.vault import CredentialNotFound
from credential_check.config import (
    AirbaseCheck,
    BillCheck,
    CheckEntry,
    MondayCheck,
    SendGridCheck,
    SlackCheck,
    TwilioCheck,
    VismaCheck,
)
from credential_check.probe_twilio import probe_sendgrid, probe_twilio
from credential_check.probe_visma import probe_visma
from credential_check.result import (
    COMPLEXITY_LEFT,
    DAILY_CALLS_LEFT,
    HOUR_LEFT,
    CheckResult,
    Outcome,
)
from monday_client.client import MondayClient
from monday_client.errors import MondayAuthError, MondayBoardNotFound
from slack_client.client import SlackClient
from slack_client.errors import SlackCredentialError

__all__ = ["CheckResult", "probe", "probe_all"]

TIMEOUT_SECONDS = 10.0


async def _slack(entry: SlackCheck, secret: SecretStr, http: httpx.AsyncClient) -> Outcome:
    client = SlackClient(http, token=secret)
    try:
        me = await client.auth_test()
    except SlackCredentialError as exc:
        return Outcome(
            False,
            f"Slack refused the token: {exc.error}",
            f"reinstall the app or store a new token: mlc secrets set {entry.credential}",
        )
    seen = f"team {me.team or me.team_id}, bot {me.user or me.user_id}"
    if me.scopes is not None:
        missing = sorted(set(entry.scopes) - set(me.scopes))
        if missing:
            return Outcome(
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
        return Outcome(
            False,
            f"{seen}; bot is not in {', '.join(absent)}",
            "invite the bot: /invite @<bot> in each channel",
        )
    if entry.channels:
        seen += f"; member of {len(entry.channels)} channel(s)"
    return Outcome(True, seen)


async def _monday(
    entry: MondayCheck, secret: SecretStr, transport: httpx.AsyncBaseTransport | None
) -> Outcome:
    client = MondayClient(
        secret, base_url=entry.api_base, transport=transport, timeout=TIMEOUT_SECONDS
    )
    async with client:
        try:
            me = await client.me()
            for board in entry.boards:
                await client.board(board)
            daily = await client.daily_calls()
        except MondayAuthError as exc:
            return Outcome(
                False,
                f"monday refused the token: {exc}",
                f"store a current API token: mlc secrets set {entry.credential}",
            )
        except MondayBoardNotFound as exc:
            return Outcome(
                False,
                f"{me.name} ({me.account.name}) cannot read board {exc.board_id}",
                "share the board with the token's user, or fix the board id",
            )
        left = client.budget.left
    seen = f"{me.name} ({me.account.name})"
    if entry.boards:
        seen += f"; reads {len(entry.boards)} board(s)"
    headroom = {COMPLEXITY_LEFT: float(left)} if left is not None else {}
    if daily.left is not None:
        headroom[DAILY_CALLS_LEFT] = float(daily.left)
    if left is not None and left < entry.complexity_floor:
        return Outcome(
            False,
            f"{seen}; only {left} complexity points left this minute",
            "wait for the reset or lower the sink's load; another app may share the token",
            headroom,
        )
    seen += f"; complexity left {left}" if left is not None else ""
    if daily.left is None:
        return Outcome(True, seen, headroom=headroom)
    seen += f"; {daily.left} of {daily.limit} calls left today"
    if daily.left < entry.daily_calls_floor:
        return Outcome(
            False,
            seen,
            f"fewer than {entry.daily_calls_floor} left: the sink stops at the limit until "
            "midnight (UTC); another app on the account may spend the same calls",
            headroom,
        )
    return Outcome(True, seen, headroom=headroom)


async def _airbase(
    entry: AirbaseCheck, secret: SecretStr, transport: httpx.AsyncBaseTransport | None
) -> Outcome:
    client = AirbaseClient(
        entry.api_base, secret, transport=transport, timeout=TIMEOUT_SECONDS, page_size=1
    )
    async with client:
        try:
            # One page of one item: the first record, if any, is enough; no second page.
            first = await anext(aiter(client.list(entry.resource)), None)
        except AirbaseCredentialsRefused as exc:
            return Outcome(
                False,
                f"Airbase refused the token: {exc}",
                f"store a current API token: mlc secrets set {entry.credential}",
            )
        rate = client.rate_limit
    seen = f"{entry.resource} readable ({'1 item' if first is not None else 'none yet'})"
    if rate.remaining is None:
        return Outcome(True, seen)
    seen += f"; {rate.remaining} of {rate.limit} requests left"
    return Outcome(True, seen, headroom={HOUR_LEFT: float(rate.remaining)})


async def _bill(
    entry: BillCheck,
    secret: Callable[[str], SecretStr],
    transport: httpx.AsyncBaseTransport | None,
) -> Outcome:
    credentials = BillCredentials(
        username=entry.username,
        password=secret(entry.credential),
        dev_key=secret(entry.dev_key_credential),
        organization_id=entry.organization_id,
    )
    client = BillClient(
        credentials, base_url=entry.api_base, transport=transport, timeout=TIMEOUT_SECONDS
    )
    async with client:
        try:
            # The login opens a session; one page of vendors changed from now on uses it.
            await anext(aiter(client.vendors(updated_since=datetime.now(UTC))), None)
        except BillAuthError as exc:
            return Outcome(
                False,
                f"BILL refused the sign-in to {entry.organization_id}: {exc}",
                f"check the user, organization and devKey; a changed password: "
                f"mlc secrets set {entry.credential}",
            )
        logins = client.logins_made
    return Outcome(
        True,
        f"{entry.username} signed in to {entry.organization_id}; session used ({logins} login)",
    )


async def probe(
    entry: CheckEntry,
    *,
    secret: Callable[[str], SecretStr],
    transport: httpx.AsyncBaseTransport | None = None,
) -> CheckResult:
    """`entry`'s credential checked against its system; never raises a `ConnectorError`."""
    started = time.perf_counter()
    try:
        if isinstance(entry, BillCheck):
            outcome = await _bill(entry, secret, transport)
        else:
            outcome = await _run(entry, secret(entry.credential), transport)
    except CredentialNotFound as exc:
        outcome = Outcome(False, str(exc), f"store it: mlc secrets set {exc.name}")
    except ConnectorError as exc:
        outcome = Outcome(False, str(exc), _generic_action(entry))
    return _result(entry, outcome, started)


async def probe_all(
    entries: Sequence[CheckEntry],
    *,
    secret: Callable[[str], SecretStr],
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[CheckResult]:
    """Every entry probed, one after the other (a check is a few calls; one at a time keeps
    a check's own calls from competing with each other for a system's limits)."""
    return [await probe(entry, secret=secret, transport=transport) for entry in entries]


def _result(entry: CheckEntry, outcome: Outcome, started: float) -> CheckResult:
    elapsed = (time.perf_counter() - started) * 1000
    return CheckResult(
        system=entry.system,
        credential=entry.credential,
        ok=outcome.ok,
        detail=outcome.detail,
        latency_ms=elapsed,
        action=outcome.action,
        headroom=outcome.headroom,
    )


async def _run(
    entry: VismaCheck | SlackCheck | TwilioCheck | SendGridCheck | MondayCheck | AirbaseCheck,
    value: SecretStr,
    transport: httpx.AsyncBaseTransport | None,
) -> Outcome:
    if isinstance(entry, VismaCheck):
        return await probe_visma(entry, value, transport=transport, request_timeout=TIMEOUT_SECONDS)
    if isinstance(entry, MondayCheck):
        return await _monday(entry, value, transport)
    if isinstance(entry, AirbaseCheck):
        return await _airbase(entry, value, transport)
    http = httpx.AsyncClient(base_url=entry.api_base, transport=transport, timeout=TIMEOUT_SECONDS)
    async with http:
        if isinstance(entry, SlackCheck):
            return await _slack(entry, value, http)
        if isinstance(entry, SendGridCheck):
            return await probe_sendgrid(entry, value, http)
        return await probe_twilio(entry, value, http)


def _generic_action(entry: CheckEntry) -> str:
    return f"check that {entry.api_base} is the system's API base and reachable"
