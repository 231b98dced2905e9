"""Per-token limits on the sandbox clock: complexity budget, calls a minute, calls a day.

Each token has its own one-minute windows (complexity points and calls) and a daily call
count that resets at midnight UTC, all read from the sandbox clock so a fast clock makes a
minute or a day pass quickly. A refused call spends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.clock import SandboxClock

MINUTE = 60.0
DAY = 86_400.0


@dataclass
class TokenUsage:
    window_start: float = 0.0
    points_spent: int = 0
    calls: int = 0
    day: int = -1
    daily_calls: int = 0
    in_flight: int = 0


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    retry_in_seconds: float


class TokenLimits:
    def __init__(
        self,
        clock: SandboxClock,
        *,
        budget_per_minute: int,
        calls_per_minute: int,
        daily_calls: int,
    ) -> None:
        self._clock = clock
        self.budget_per_minute = budget_per_minute
        self.calls_per_minute = calls_per_minute
        self.daily_calls = daily_calls
        self._usage: dict[str, TokenUsage] = {}

    def usage(self, token: str) -> TokenUsage:
        usage = self._usage.setdefault(token, TokenUsage())
        now = self._clock.time()
        if now - usage.window_start >= MINUTE:
            usage.window_start, usage.points_spent, usage.calls = now, 0, 0
        day = int(now // DAY)
        if day != usage.day:
            usage.day, usage.daily_calls = day, 0
        return usage

    def reset_in_seconds(self, token: str) -> float:
        return max(0.0, self.usage(token).window_start + MINUTE - self._clock.time())

    def admit_call(self, token: str) -> Refusal | None:
        """Count one call against the daily and per-minute limits, or say which refused it."""
        usage = self.usage(token)
        if usage.daily_calls >= self.daily_calls:
            until_midnight = (usage.day + 1) * DAY - self._clock.time()
            return Refusal("DAILY_LIMIT_EXCEEDED", "Daily limit exceeded", until_midnight)
        if usage.calls >= self.calls_per_minute:
            return Refusal(
                "RATE_LIMIT_EXCEEDED", "Rate Limit Exceeded", self.reset_in_seconds(token)
            )
        usage.daily_calls += 1
        usage.calls += 1
        return None

    def budget_left(self, token: str) -> int:
        return self.budget_per_minute - self.usage(token).points_spent

    def spend(self, token: str, points: int) -> Refusal | None:
        if points > self.budget_left(token):
            return Refusal(
                "COMPLEXITY_BUDGET_EXHAUSTED",
                "Complexity budget exhausted",
                self.reset_in_seconds(token),
            )
        self.usage(token).points_spent += points
        return None

    def snapshot(self) -> dict[str, dict[str, object]]:
        return {
            f"token#{index}": {
                "points_spent": usage.points_spent,
                "calls_this_minute": usage.calls,
                "calls_today": usage.daily_calls,
            }
            for index, usage in enumerate(self._usage.values())
        }
