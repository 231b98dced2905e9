"""BILL sessions: ``POST /v3/login`` hands out a sessionId that dies after 35 idle minutes.

A session belongs to one organization, user and devKey. Every call made with it resets its
idle timer (sandbox clock); once idle too long, or expired by the admin route (a forced
expiry, as when BILL ends sessions on its side), or logged out, it answers the
invalid-session error and the client must log in again. Logins are limited per devKey and
hour. Statistics count logins per organization so tests can say how many a client made.
"""

from __future__ import annotations

import hmac
import secrets
from collections import Counter
from dataclasses import dataclass

from sandbox.bill.config import BillConfig, BillOrganization
from sandbox.bill.errors import (
    BAD_CREDENTIALS,
    BAD_DEV_KEY,
    INVALID_SESSION,
    LOGIN_LIMIT,
    BillApiError,
)
from sandbox.bill.limits import HourlyCounter
from sandbox.clock import SandboxClock


@dataclass
class Session:
    id: str
    organization_id: str
    user_id: str
    dev_key: str
    last_used: float
    ended: bool = False


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    organization_id: str
    dev_key: str


class Sessions:
    def __init__(self, config: BillConfig, clock: SandboxClock) -> None:
        self._config = config
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self.logins = HourlyCounter(
            clock, limit=config.logins_per_hour, error=LOGIN_LIMIT, status=config.limit_status
        )
        self.logins_by_organization: Counter[str] = Counter()
        self.expired: Counter[str] = Counter()
        """Sessions found dead when used, by why: ``idle``, ``forced``, ``logout``."""

    def check_dev_key(self, dev_key: str | None) -> str:
        known = (k.get_secret_value() for k in self._config.dev_keys)
        if not dev_key or not any(hmac.compare_digest(dev_key, k) for k in known):
            raise BillApiError(BAD_DEV_KEY)
        return dev_key

    def _organization(self, organization_id: str) -> BillOrganization:
        for organization in self._config.organizations:
            if organization.id == organization_id:
                return organization
        raise BillApiError(BAD_CREDENTIALS)

    def login(self, credentials: Credentials) -> Session:
        dev_key = self.check_dev_key(credentials.dev_key)
        self.logins.count(dev_key)
        organization = self._organization(credentials.organization_id)
        for index, user in enumerate(organization.users):
            if user.username == credentials.username and hmac.compare_digest(
                user.password.get_secret_value(), credentials.password
            ):
                session = Session(
                    id=secrets.token_urlsafe(24),
                    organization_id=organization.id,
                    user_id=f"006{organization.id[3:8]}{index:012d}",
                    dev_key=dev_key,
                    last_used=self._clock.time(),
                )
                self._sessions[session.id] = session
                self.logins_by_organization[organization.id] += 1
                return session
        raise BillApiError(BAD_CREDENTIALS)

    def use(self, session_id: str | None, dev_key: str | None) -> Session:
        """The live session these headers name, its idle timer reset; else invalid-session."""
        dev_key = self.check_dev_key(dev_key)
        session = self._sessions.get(session_id or "")
        if session is None or session.dev_key != dev_key:
            raise BillApiError(INVALID_SESSION)
        now = self._clock.time()
        if session.ended:
            self.expired["ended"] += 1
            raise BillApiError(INVALID_SESSION)
        if now - session.last_used >= self._config.session_idle_seconds:
            session.ended = True
            self.expired["idle"] += 1
            raise BillApiError(INVALID_SESSION)
        session.last_used = now
        return session

    def logout(self, session: Session) -> None:
        session.ended = True

    def expire(self, organization_id: str | None = None) -> int:
        """Forced expiry: every live session (of one organization) is ended now."""
        ended = 0
        for session in self._sessions.values():
            if session.ended or organization_id not in (None, session.organization_id):
                continue
            session.ended = True
            ended += 1
        return ended
