"""Visma Connect tokens and the per company+client hourly call budget.

Tokens are opaque, bound to (client_id, tenant_id) and expire on the sandbox clock. The
budget is a fixed window aligned on multiples of the window length of the sandbox clock
("4-fixed-window"): every API call after authentication counts, and past the limit the
API answers 429 with Retry-After until the window rolls over.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class TokenGrant:
    token: str
    client_id: str
    tenant_id: str
    scope: str
    expires_at: float


class TokenIssuer:
    def __init__(self, *, ttl_seconds: int) -> None:
        self.ttl_seconds = ttl_seconds
        self._grants: dict[str, TokenGrant] = {}

    def issue(self, *, client_id: str, tenant_id: str, scope: str, now: float) -> TokenGrant:
        grant = TokenGrant(
            token=secrets.token_urlsafe(32),
            client_id=client_id,
            tenant_id=tenant_id,
            scope=scope,
            expires_at=now + self.ttl_seconds,
        )
        self._grants[grant.token] = grant
        return grant

    def lookup(self, token: str) -> TokenGrant | None:
        return self._grants.get(token)


@dataclass(frozen=True)
class BudgetDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_seconds),
            "X-RateLimit-Policy": "4-fixed-window",
        }


class FixedWindowBudget:
    def __init__(self, *, limit: int, window_seconds: int) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._used: dict[tuple[str, str], tuple[int, int]] = {}

    def take(self, key: tuple[str, str], now: float) -> BudgetDecision:
        window = int(now // self.window_seconds)
        seen_window, used = self._used.get(key, (window, 0))
        if seen_window != window:
            used = 0
        reset = max(1, math.ceil((window + 1) * self.window_seconds - now))
        if used >= self.limit:
            self._used[key] = (window, used)
            return BudgetDecision(False, self.limit, 0, reset)
        used += 1
        self._used[key] = (window, used)
        return BudgetDecision(True, self.limit, self.limit - used, reset)

    def reset(self) -> None:
        self._used.clear()
