"""Why a key waits, and how code deep inside a handler tells the runner that it waits.

Most waits are the runner's own (a `Held`, an unavailable system, the key's token bucket),
so it knows when a key is held. One is not: a client that spends a call budget (Visma's
calls per hour and company, `chassis.ratelimit.HourlyBudget`) sleeps inside the handler
until the next window, and the runner sees only a long call. `waiting_in_handler` lets such
code say so: the runner sets a `KeyWaitReporter` for each handler call (a context variable,
so nothing is passed through the clients) and publishes the key as held while it lasts
(`chassis.kafka.held_keys`); outside a runner it does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

__all__ = ["HoldKind", "KeyWaitReporter", "reporting_key_waits", "waiting_in_handler"]


class HoldKind(StrEnum):
    """Why a key waits, as `mlc status` shows it."""

    RATE_LIMITED = "rate-limited"
    """The system said when to call again (a 429 with Retry-After), or the key's own token
    bucket makes it wait long."""
    UNAVAILABLE = "unavailable"
    """The system is down and did not say for how long (backoff)."""
    CREDENTIAL_HELD = "credential-held"
    """The system refused the credential: held until it is replaced in the vault."""
    DAILY_LIMIT = "daily-limit"
    """A call budget of the day is spent (monday's daily limit): held until it resets."""
    BUDGET_HELD = "budget-held"
    """Another call budget is spent (Visma's calls per hour): held until its next window."""


class KeyWaitReporter(Protocol):
    def started(self, kind: HoldKind, reason: str, until: datetime | None) -> None: ...

    def over(self) -> None: ...


_REPORTER: ContextVar[KeyWaitReporter | None] = ContextVar("chassis_key_waits", default=None)


@contextmanager
def reporting_key_waits(reporter: KeyWaitReporter) -> Iterator[None]:
    """Around one handler call: its waits go to `reporter` (the runner's, for its key)."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


@contextmanager
def waiting_in_handler(kind: HoldKind, reason: str, *, seconds: float | None) -> Iterator[None]:
    """Around a wait inside a handler (expected to last `seconds`, if known)."""
    reporter = _REPORTER.get()
    if reporter is None:
        yield
        return
    until = None if seconds is None else datetime.now(UTC) + timedelta(seconds=seconds)
    reporter.started(kind, reason, until)
    try:
        yield
    finally:
        reporter.over()
