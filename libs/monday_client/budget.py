"""A token's complexity budget, kept from what monday reports, so calls wait before sending.

monday gives each token a budget of complexity points per minute and answers every call that
selects ``complexity`` with what was left ``before`` and ``after`` it and when the window
resets (``reset_in_x_seconds``). `ComplexityBudget` keeps the last ``after``, holds back what
calls in flight are expected to cost, and makes a call that would not fit wait for the reset
rather than send it and collect ``COMPLEXITY_BUDGET_EXHAUSTED``. A refusal still happens
(another process on the same token, a wrong estimate): `exhausted` then records the wait
monday asked for. Share one budget between the clients of one token.

What a call will cost is learned from monday's ``complexity.query`` of the last call of the
same kind (`estimate`); while the first call of a kind is out, the others of that kind wait
for its answer, and an unknown kind is assumed to cost one point.
The clock and sleep are injected so a test runs on the sandbox's clock, never real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from monday_client.models import Complexity

__all__ = ["Clock", "ComplexityBudget", "Hold", "Sleep"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Hold:
    """Points held for one call in flight, of one kind, for `units` updates."""

    kind: str
    points: int
    units: int
    learner: bool
    """The first call of its kind: others of the kind wait for its answer."""


class ComplexityBudget:
    """Complexity points left for one token, as of monday's last answer."""

    def __init__(self, *, clock: Clock = time.time, sleep: Sleep = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._left: int | None = None
        self._limit: int | None = None
        self._reset_at = 0.0
        self._reserved = 0
        self._costs: dict[str, int] = {}
        self._learning: dict[str, asyncio.Event] = {}
        self.waits: list[float] = []
        """Seconds each call waited for the window to reset (a metric, and for tests)."""

    @property
    def limit(self) -> int | None:
        """The budget per window, as far as monday has shown it (the largest ``before``)."""
        return self._limit

    @property
    def left(self) -> int | None:
        """Points left now, less what calls in flight hold; None until monday said."""
        self._roll()
        return None if self._left is None else self._left - self._reserved

    def estimate(self, kind: str) -> int:
        """Points a call of `kind` is expected to cost: at least one, so nothing is sent
        into a budget known to be empty."""
        return max(1, self._costs.get(kind, 1))

    def knows(self, kind: str) -> bool:
        return kind in self._costs

    async def reserve(self, kind: str, *, units: int = 1) -> Hold:
        """Waits until a call of `kind` (`units` times its cost) fits in what is left, then
        holds its points. While the first call of a kind is out, others of that kind wait
        for its answer: they would all be guesses."""
        while not self.knows(kind) and kind in self._learning:
            await self._learning[kind].wait()
        learner = not self.knows(kind)
        if learner:
            self._learning[kind] = asyncio.Event()
        points = self.estimate(kind) * units
        try:
            await self._fit(points)
        except BaseException:
            self._release(kind, learner=learner)
            raise
        self._reserved += points
        return Hold(kind, points, units, learner)

    def settle(self, hold: Hold, complexity: Complexity | None) -> None:
        """The call holding `hold` was answered, with monday's complexity if any."""
        self._reserved = max(0, self._reserved - hold.points)
        if complexity is not None:
            self._limit = max(self._limit or 0, complexity.before)
            self._left = complexity.after
            self._reset_at = self._clock() + complexity.reset_in_x_seconds
            self._costs[hold.kind] = max(1, complexity.query // hold.units)
        self._release(hold.kind, learner=hold.learner)

    def exhausted(self, hold: Hold, *, retry_in_seconds: float) -> None:
        """monday refused the call holding `hold`: nothing left until the reset."""
        self._reserved = max(0, self._reserved - hold.points)
        self._left = 0
        self._reset_at = self._clock() + retry_in_seconds
        self._release(hold.kind, learner=hold.learner)

    async def _fit(self, points: int) -> None:
        while True:
            left = self.left
            if left is None or points <= left:
                return
            if self._limit is not None and points > self._limit:
                return  # bigger than a whole window: waiting cannot help, monday decides
            reset_at = self._reset_at
            wait = max(0.0, reset_at - self._clock())
            self.waits.append(wait)
            await self._sleep(wait)
            if self._reset_at == reset_at:
                # The whole wait monday named has passed: its window is over, whatever a
                # coarse or stopped clock says (unless a newer answer moved the reset).
                self._left = self._limit

    def _release(self, kind: str, *, learner: bool) -> None:
        if learner:
            event = self._learning.pop(kind, None)
            if event is not None:
                event.set()

    def _roll(self) -> None:
        if self._left is not None and self._clock() >= self._reset_at:
            self._left = self._limit
