"""Configuration of the monday.com simulator: tokens, limits and the demo board.

Defaults follow monday's published limits for a personal token (10M complexity points a
minute, 5M per query) and the Pro plan's daily calls (10,000); the per-minute call count
and the concurrency cap are not published per plan (UNCONFIRMED), so they are settings.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

DEMO_MONDAY_TOKEN = "mlc-demo-monday-token"  # noqa: S105 - published demo credential
DEMO_SIGNING_SECRET = "mlc-demo-monday-app-signing-secret-2026"  # noqa: S105 - published demo credential


class MondayConfig(BaseModel):
    tokens: list[SecretStr] = Field(default_factory=lambda: [SecretStr(DEMO_MONDAY_TOKEN)])
    account_id: int = 9_000_001
    account_name: str = "Nordic Demo"
    complexity_budget_per_minute: int = Field(default=10_000_000, gt=0)
    complexity_per_query_limit: int = Field(default=5_000_000, gt=0)
    # What one mutation costs on top of the fields it returns (monday: ~10,000 for create_item).
    mutation_cost: int = Field(default=10_000, ge=0)
    calls_per_minute: int = Field(default=5_000, gt=0)
    daily_call_limit: int = Field(default=10_000, gt=0)
    max_concurrent_requests: int = Field(default=100, gt=0)
    # Sandbox seconds a mutation takes, so overlapping mutations on one board can be seen.
    mutation_latency_seconds: float = Field(default=0.0, ge=0, le=10)
    cursor_ttl_seconds: int = Field(default=3600, gt=0)
    seed_procurement_board: bool = True
    # Board webhooks of an app are signed with the app's Signing Secret (a JWT in
    # Authorization); None sends none, as for webhooks made with a personal token. The JWT's
    # algorithm and lifetime are not published (UNCONFIRMED): HS256, 60 seconds here.
    webhook_signing_secret: SecretStr | None = SecretStr(DEMO_SIGNING_SECRET)
    webhook_jwt_ttl_seconds: int = Field(default=60, gt=0)
    # monday retries a failed delivery once a minute for 30 minutes (sandbox seconds).
    webhook_retry_interval_seconds: float = Field(default=60.0, gt=0)
    webhook_retry_window_seconds: float = Field(default=1800.0, ge=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
