"""What one credential check found: OK or the exact reason, what to do, and the headroom.

`Outcome` is what a probe decides; `CheckResult` adds who was checked and how long it took.
`mlc check` prints `CheckResult.line()`; the credential-check service turns the same results
into gauges (`credential_check.metrics`), so both read one shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["COMPLEXITY_LEFT", "DAILY_CALLS_LEFT", "HOUR_LEFT", "CheckResult", "Outcome"]

HOUR_LEFT = "requests_left_this_hour"
"""Visma's and Airbase's X-RateLimit-Remaining: requests left in the hour."""
COMPLEXITY_LEFT = "complexity_left_this_minute"
"""monday's complexity points left in the minute."""
DAILY_CALLS_LEFT = "calls_left_today"
"""monday's daily call limit less today's calls."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str
    action: str = ""
    headroom: Mapping[str, float] = field(default_factory=dict)
    """What is left before a limit refuses calls, by measure (`requests_left_this_hour`, ...):
    the numbers that warn early."""


@dataclass(frozen=True)
class CheckResult:
    system: str
    credential: str
    ok: bool
    detail: str
    """What was seen when OK; the exact reason when not."""
    latency_ms: float
    action: str = ""
    """What to do about a failure."""
    headroom: Mapping[str, float] = field(default_factory=dict)

    def line(self) -> str:
        state = "OK  " if self.ok else "FAIL"
        text = f"{self.system:<8} {self.credential:<28} {state} {self.latency_ms:7.0f} ms  "
        text += self.detail
        return text + (f"  -> {self.action}" if self.action else "")
