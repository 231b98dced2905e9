"""What the poller needs from one Airbase account, as a small protocol, and the client as one.

`ClientSource` reads through `airbase_client.AirbaseClient`: its ledger-entry list reads every
page until an empty one, its records keep the JSON they were read from (in the connector's
field names, after the profile's renames), and it keeps the last `X-Ratelimit-Remaining`
Airbase sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from airbase_client import BILLS, AirbaseClient, AirbaseNotFound
from airbase_poller.allowance import CountingTransport


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


class ClientSource:
    def __init__(self, client: AirbaseClient, counter: CountingTransport) -> None:
        """`counter` is the transport `client` sends through."""
        self._client = client
        self._counter = counter

    async def sync_ready_entries(self) -> AsyncIterator[dict[str, Any]]:
        async for entry in self._client.ledger_entries("sync_ready"):
            yield entry.raw

    async def bill(self, airbase_id: str) -> dict[str, Any] | None:
        try:
            return (await self._client.get(BILLS, airbase_id)).raw
        except AirbaseNotFound:
            return None  # the entry names a bill Airbase does not show: published without

    def remaining_calls(self) -> int | None:
        return self._client.rate_limit.remaining

    def calls_made(self) -> int:
        return self._counter.calls
