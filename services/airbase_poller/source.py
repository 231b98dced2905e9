"""What the poller needs from one Airbase account, as a small protocol, and the client as one.

`ClientSource` reads through `airbase_client.AirbaseClient`: its ledger-entry list reads every
page until an empty one, its records keep the JSON they were read from (in the connector's
field names, after the profile's renames), and it keeps the last `X-Ratelimit-Remaining`
Airbase sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from pydantic import SecretStr

from airbase_client import AirbaseClient, AirbaseNotFound, AirbaseRecord, Resource
from airbase_poller.allowance import CountingTransport
from chassis.vault_envelope import VaultError

log = logging.getLogger(__name__)


class AirbaseSource(Protocol):
    def sync_ready_entries(self) -> AsyncIterator[dict[str, Any]]:
        """Every ledger entry Airbase lists as `sync_ready`, page after page, as JSON."""

    async def bill(self, airbase_id: str) -> dict[str, Any] | None:
        """One bill as JSON (its `erp_reference_id` is our Visma invoice key); None when
        Airbase has no such bill."""

    def remaining_calls(self) -> int | None:
        """Airbase's last `X-Ratelimit-Remaining` for this token (None: not known yet)."""

    def calls_made(self) -> int:
        """Requests sent so far (a pull's cost is the difference across it)."""

    async def renew_credentials(self) -> bool:
        """Reads the tenant's token again (Airbase refused the one held); True when it
        changed."""


ENTRIES_AS_READ = Resource("ledger_entries", AirbaseRecord)
BILLS_AS_READ = Resource("bills", AirbaseRecord)
"""Read with the records' common fields only: the fact reads the rest from the JSON, entry by
entry, so one malformed entry is skipped with its reason (`mlc_airbase_entries_unusable_total`)
instead of failing every pull of its tenant (the typed models refuse the whole page)."""

TokenReader = Callable[[], SecretStr]
"""Reads the tenant's token from the vault as it is now (a blocking read)."""


class ClientSource:
    def __init__(
        self,
        client: AirbaseClient,
        counter: CountingTransport,
        *,
        token: SecretStr | None = None,
        read_token: TokenReader | None = None,
    ) -> None:
        """`counter` is the transport `client` sends through; `token` the one it was made
        with, `read_token` how to read it again (None: never renewed)."""
        self._client = client
        self._counter = counter
        self._token = token
        self._read_token = read_token

    async def sync_ready_entries(self) -> AsyncIterator[dict[str, Any]]:
        async for entry in self._client.list(ENTRIES_AS_READ, status="sync_ready"):
            yield entry.raw

    async def bill(self, airbase_id: str) -> dict[str, Any] | None:
        try:
            return (await self._client.get(BILLS_AS_READ, airbase_id)).raw
        except AirbaseNotFound:
            return None  # the entry names a bill Airbase does not show: published without

    def remaining_calls(self) -> int | None:
        return self._client.rate_limit.remaining

    def calls_made(self) -> int:
        return self._counter.calls

    async def renew_credentials(self) -> bool:
        if self._read_token is None:
            return False
        try:
            token = await asyncio.to_thread(self._read_token)
        except VaultError as exc:  # the tenant stays held; the next refusal reads again
            log.error("the tenant's token cannot be read from the vault", extra={
                "error": str(exc)})  # fmt: skip
            return False
        if self._token is not None and token.get_secret_value() == self._token.get_secret_value():
            return False
        self._token = token
        self._client.use_token(token)  # registers it for redaction too
        return True
