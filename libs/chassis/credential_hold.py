"""Holding the work of a refused credential until it is replaced, for every sink alike.

When the outside world refuses a credential (Slack answers invalid_auth, Visma answers
invalid_client), nothing is wrong with the commands that need it: they should neither be
retried to exhaustion nor dead-lettered, but wait and go on once the credential is fixed.
`CredentialHolds` keeps one hold per holder of a credential (a Slack workspace, a Visma
company). The same hold serves a credential that is fine but spent for now (monday's daily
call limit): its check says whether the limit has reset instead of whether it was replaced,
and `reason` says which it is in the logs. `hold` marks the holder held and starts one
watcher, which asks the holder's `replaced` check every `refresh_seconds` (typically: re-read
the vault and compare) until it says yes; then the hold ends and every record waiting on it
is released. The records wait in the runner as `Held` (`chassis.kafka.held`): uncommitted,
their key paused, other keys going on, and let go on a shutdown or a rebalance.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from chassis.errors import ConnectorError
from chassis.kafka.record import Held, HoldKind

__all__ = ["CredentialHolds", "Replaced"]

log = logging.getLogger(__name__)

Replaced = Callable[[], Awaitable[bool]]
"""Whether the holder's credential has been replaced since it was refused (and, if so, the
holder now uses the new one). May raise a `ConnectorError` (the vault cannot be read):
the watcher logs it and asks again later."""


@dataclass
class _Hold:
    released: asyncio.Event
    watcher: asyncio.Task[None] | None
    reason: str
    kind: HoldKind = HoldKind.CREDENTIAL_HELD
    until: datetime | None = None


class CredentialHolds:
    def __init__(self, *, refresh_seconds: float) -> None:
        self._refresh_seconds = refresh_seconds
        self._holds: dict[str, _Hold] = {}

    def is_held(self, holder: str) -> bool:
        return holder in self._holds

    def held(self, holder: str) -> Held | None:
        """The `Held` to raise while `holder` is held; None when it is not."""
        hold = self._holds.get(holder)
        return None if hold is None else self._held_by(holder, hold)

    def hold(
        self,
        holder: str,
        *,
        replaced: Replaced | None,
        reason: str = "credential refused",
        kind: HoldKind = HoldKind.CREDENTIAL_HELD,
        until: datetime | None = None,
    ) -> Held:
        """Holds `holder` (once: a second call joins the first hold) and returns the `Held`.

        With `replaced`, a watcher ends the hold once it says the credential was replaced;
        without (a credential from the environment), only a restart ends it. `kind` and
        `until` (when the hold is known to end) say what `mlc status` shows of it.
        """
        hold = self._holds.get(holder)
        if hold is None:
            released = asyncio.Event()
            watcher = None
            if replaced is not None:
                watcher = asyncio.create_task(self._watch(holder, released, replaced))
            hold = self._holds[holder] = _Hold(released, watcher, reason, kind, until)
        return self._held_by(holder, hold)

    @staticmethod
    def released_at_once(holder: str) -> Held:
        """A `Held` that is already over: the credential was replaced before this record's
        failure was seen (it failed with the old one), so it simply tries again."""
        released = asyncio.Event()
        released.set()
        return CredentialHolds._held(holder, released, "credential replaced")

    @staticmethod
    def _held(holder: str, released: asyncio.Event, reason: str) -> Held:
        return Held(f"{holder}: {reason}", released=released.wait)

    @staticmethod
    def _held_by(holder: str, hold: _Hold) -> Held:
        return Held(
            f"{holder}: {hold.reason}", released=hold.released.wait, kind=hold.kind,
            until=hold.until,
        )  # fmt: skip

    async def _watch(self, holder: str, released: asyncio.Event, replaced: Replaced) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            try:
                if await replaced():
                    break
            except ConnectorError as exc:  # decided: the vault may answer on the next look
                log.warning("cannot re-read the credential", extra={"holder": holder,
                                                                    "error": str(exc)})  # fmt: skip
        self._holds.pop(holder, None)
        released.set()

    async def aclose(self) -> None:
        for hold in self._holds.values():
            if hold.watcher is not None:
                hold.watcher.cancel()
