"""`mlc bill subscribe` and `mlc bill rotate-key`: BILL webhook subscriptions and their keys.

BILL shows a subscription's securityKey once, in the answer that creates it (or rotates
it). Losing it means every delivery fails its signature, so the key goes into the vault,
sealed, before anything else is done with the answer; if it cannot be stored the
subscription is deleted again, so BILL never sends events nobody can verify, and the
command says so. A rotation keeps the old key verifying for an overlap window (deliveries
already signed with it, a replica that has not read the vault yet) and then it is retired
(`ingress.bill_keys`). Nothing here prints or logs a key.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import httpx

from bill_client import (
    DEFAULT_BASE_URL,
    DEFAULT_EVENTS_BASE_URL,
    BillClient,
    BillCredentials,
    BillError,
    BillSubscription,
)
from chassis.errors import ConnectorError, PermanentError
from chassis.vault import CredentialNotFound, CredentialVault, VaultError, vault_from_environment
from ingress.bill_keys import BillSecurityKeys, read_keys, store_keys

EVENTS = (
    "vendor.created", "vendor.updated", "vendor.archived", "vendor.restored",
    "bill.created", "bill.updated", "bill.archived", "bill.restored",
)  # fmt: skip
SUBSCRIPTION_NAME = "ml-connector"
EXAMPLE = """\
The sign-in comes from the vault: the user's password (--password-credential, default
bill/<org>/password) and the app's devKey (--dev-key-credential, default bill/devkey), set
with `mlc secrets set`. Example:

  mlc bill subscribe --org 00801MLCDEMODK000001 --tenant tenant-dk-1 \\
      --username ap@nordisk-demo.example --url https://connector.example/webhooks/bill
  mlc bill rotate-key --subscription 0sb01... --username ap@nordisk-demo.example --overlap 1h

The securityKey is never printed: it is stored sealed in the vault, where the ingress reads it.
"""
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class SubscriptionKeyNotStoredError(PermanentError):
    """BILL answered with a key the vault could not store; the message says what was undone."""


class NoKeysHeldError(PermanentError):
    """The vault holds no keys for the subscription: it was not made by `mlc bill subscribe`."""


@dataclass(frozen=True)
class SignIn:
    username: str
    password_credential: str
    dev_key_credential: str

    def credentials(self, vault: CredentialVault, organization_id: str) -> BillCredentials:
        return BillCredentials(
            username=self.username,
            password=vault.get(self.password_credential.format(org=organization_id)),
            dev_key=vault.get(self.dev_key_credential.format(org=organization_id)),
            organization_id=organization_id,
        )


async def subscribe(
    client: BillClient,
    vault: CredentialVault,
    *,
    tenant_id: str,
    url: str,
    idempotency_key: str | None = None,
) -> BillSubscription:
    """Creates the subscription and stores its key before anything else; undoes it if not."""
    subscription, key = await client.create_subscription(
        name=SUBSCRIPTION_NAME,
        url=url,
        events=EVENTS,
        idempotency_key=idempotency_key or str(uuid.uuid4()),
    )
    keys = BillSecurityKeys(
        subscription_id=subscription.id,
        organization_id=subscription.organization_id,
        tenant_id=tenant_id,
        current=key,
    )
    try:
        await asyncio.to_thread(store_keys, vault, keys)
    except VaultError as exc:
        await _undo(client, subscription.id, exc)
    return subscription


async def _undo(client: BillClient, subscription_id: str, cause: VaultError) -> None:
    try:
        await client.delete_subscription(subscription_id)
    except BillError as exc:
        raise SubscriptionKeyNotStoredError(
            f"the securityKey of subscription {subscription_id} could not be stored in the "
            f"vault ({cause}) and deleting the subscription failed too ({exc}): delete it in "
            "BILL, its events cannot be verified"
        ) from exc
    raise SubscriptionKeyNotStoredError(
        f"the securityKey could not be stored in the vault ({cause}): subscription "
        f"{subscription_id} was deleted again, nothing is subscribed"
    ) from cause


async def rotate_key(
    client: BillClient,
    vault: CredentialVault,
    held: BillSecurityKeys,
    *,
    overlap: timedelta,
    now: datetime,
) -> BillSecurityKeys:
    """Rotates the key at BILL and stores the new set (the old key verifying for `overlap`)."""
    new_key = await client.rotate_security_key(held.subscription_id)
    rotated = held.rotated(new_key, now=now, overlap=overlap)
    try:
        await asyncio.to_thread(store_keys, vault, rotated)
    except VaultError as exc:
        raise SubscriptionKeyNotStoredError(
            f"BILL rotated the key of subscription {held.subscription_id} but the new key "
            f"could not be stored in the vault ({exc}): deliveries are refused until "
            "`mlc bill rotate-key` is run again (the bill-poller keeps records flowing)"
        ) from exc
    return rotated


def held_keys(vault: CredentialVault, subscription_id: str) -> BillSecurityKeys:
    try:
        return read_keys(vault, subscription_id)
    except CredentialNotFound:
        raise NoKeysHeldError(
            f"the vault holds no keys for subscription {subscription_id}: subscribe with "
            "`mlc bill subscribe` (BILL shows a key once, to the call that creates it)"
        ) from None


def parse_overlap(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 30m, 1h or 1d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _add_sign_in(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLE
    parser.add_argument("--username", required=True, help="the BILL user to sign in as")
    parser.add_argument(
        "--password-credential",
        default="bill/{org}/password",
        help="vault name of the user's password ({org}: the organization id)",
    )
    parser.add_argument(
        "--dev-key-credential", default="bill/devkey", help="vault name of the app's devKey"
    )
    parser.add_argument("--api-base", default=DEFAULT_BASE_URL, help="BILL's v3 API")
    parser.add_argument(
        "--events-base", default=DEFAULT_EVENTS_BASE_URL, help="BILL's v3 webhook API"
    )


def add_subscribe_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "subscribe",
        help="subscribe the ingress to an organization's vendor and bill events",
        description="Create a BILL webhook subscription (vendor and bill events) for one "
        "organization, posting to --url, and store its one-time securityKey in the vault, "
        "sealed, before anything else. If the key cannot be stored, the subscription is "
        "deleted again.",
    )
    p.add_argument("--org", required=True, help="the BILL organization id (008...)")
    p.add_argument("--url", required=True, help="the public URL of POST /webhooks/bill")
    p.add_argument("--tenant", required=True, help="the tenant the organization's events are for")
    _add_sign_in(p)
    p.set_defaults(func=run_subscribe)


def add_rotate_key_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "rotate-key",
        help="rotate a subscription's securityKey, both keys verifying for an overlap",
        description="Ask BILL for a new securityKey of a subscription and store it in the "
        "vault; the old key keeps verifying deliveries for --overlap, then it is retired.",
    )
    p.add_argument("--subscription", required=True, help="the subscription id")
    p.add_argument(
        "--overlap", type=parse_overlap, default=timedelta(hours=1),
        help="how long the old key still verifies (default 1h; 0s: retire it at once)",
    )  # fmt: skip
    _add_sign_in(p)
    p.set_defaults(func=run_rotate_key)


def _client(
    args: argparse.Namespace,
    vault: CredentialVault,
    organization_id: str,
    transport: httpx.AsyncBaseTransport | None,
) -> BillClient:
    sign_in = SignIn(args.username, args.password_credential, args.dev_key_credential)
    return BillClient(
        sign_in.credentials(vault, organization_id),
        base_url=args.api_base,
        events_base_url=args.events_base,
        transport=transport,
    )


def run_subscribe(
    args: argparse.Namespace,
    *,
    vault: CredentialVault | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """The command; a test hands it a vault and a transport to BILL (default: the real ones)."""

    async def work(vault: CredentialVault) -> str:
        async with _client(args, vault, args.org, transport) as client:
            made = await subscribe(client, vault, tenant_id=args.tenant, url=args.url)
        return (
            f"subscribed {made.organization_id} to {len(made.events)} vendor and bill events "
            f"at {made.notification_url}: subscription {made.id}, its key stored in the vault"
        )

    return _run(work, vault=vault, out=out)


def run_rotate_key(
    args: argparse.Namespace,
    *,
    vault: CredentialVault | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    out: TextIO = sys.stdout,
) -> int:
    async def work(vault: CredentialVault) -> str:
        held = held_keys(vault, args.subscription)
        async with _client(args, vault, held.organization_id, transport) as client:
            rotated = await rotate_key(
                client, vault, held, overlap=args.overlap, now=datetime.now(UTC)
            )
        until = rotated.previous_until
        retired = "at once" if until is None else f"at {until.isoformat(timespec='seconds')}"
        return (
            f"rotated the key of subscription {held.subscription_id}: the old one retires {retired}"
        )

    return _run(work, vault=vault, out=out)


def _run(
    work: Callable[[CredentialVault], Coroutine[Any, Any, str]],
    *,
    vault: CredentialVault | None,
    out: TextIO,
) -> int:
    """Runs `work(vault)`; an error is one line on stderr and exit status 1."""
    try:
        opened = vault if vault is not None else vault_from_environment()
        opened.load()
        line = asyncio.run(work(opened))
    except (ConnectorError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(line, file=out)
    return 0
