"""One BILL session per organization, shared by every call and renewed only when needed.

BILL allows 200 logins an hour and ends a session after 35 idle minutes, so the client
must neither log in per call nor use a dead session. `SessionKeeper` holds the live
sessionId and when it was last used (on the client's clock); a call asks `current()`,
which logs in first when there is no session or it has been idle almost long enough to
expire. When BILL still answers invalid-session (a forced expiry, a logout elsewhere) the
call hands back the id it used to `renew(stale)`: the first caller with that id logs in,
every other one finds the new session already there. One expiry, one login, however many
calls were in flight. A login that fails fails every call that was waiting for it: they
do not each try again, which would spend BILL's login allowance when it is already short.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["IDLE_EXPIRY_SECONDS", "RENEW_MARGIN_SECONDS", "Login", "SessionKeeper"]

IDLE_EXPIRY_SECONDS = 35 * 60.0
RENEW_MARGIN_SECONDS = 120.0
"""A session idle this close to its expiry is replaced before use: a call must not reach
BILL a moment after the session died (clocks differ, a request takes time)."""

Login = Callable[[], Awaitable[str]]
"""Logs in and returns the new sessionId (raising the client's errors)."""


class SessionKeeper:
    def __init__(
        self,
        login: Login,
        *,
        clock: Callable[[], float],
        idle_expiry_seconds: float = IDLE_EXPIRY_SECONDS,
        renew_margin_seconds: float = RENEW_MARGIN_SECONDS,
    ) -> None:
        self._login = login
        self._clock = clock
        self._renew_after = max(0.0, idle_expiry_seconds - renew_margin_seconds)
        self._session_id: str | None = None
        self._last_used = 0.0
        self._lock = asyncio.Lock()
        self._failed_logins = 0
        self._last_failure: BaseException | None = None
        self.logins_made = 0

    async def current(self) -> str:
        """The sessionId to send now (logging in first if there is none or it is stale);
        the call that gets it counts as a use."""
        failures_seen = self._failed_logins
        async with self._lock:
            self._raise_if_failed_since(failures_seen)
            idle = self._clock() - self._last_used
            if self._session_id is None or idle >= self._renew_after:
                await self._log_in()
            self._last_used = self._clock()
            assert self._session_id is not None
            return self._session_id

    async def renew(self, stale: str) -> None:
        """BILL refused `stale`: replace it, unless another caller already did."""
        failures_seen = self._failed_logins
        async with self._lock:
            self._raise_if_failed_since(failures_seen)
            if self._session_id == stale:
                await self._log_in()

    def forget(self) -> None:
        """Drops the session (after a logout): the next call logs in."""
        self._session_id = None

    def _raise_if_failed_since(self, failures_seen: int) -> None:
        if self._failed_logins != failures_seen and self._last_failure is not None:
            raise self._last_failure

    async def _log_in(self) -> None:
        self._session_id = None
        try:
            self._session_id = await self._login()
        except BaseException as failure:
            self._failed_logins += 1
            self._last_failure = failure
            raise
        self.logins_made += 1
        self._last_used = self._clock()
