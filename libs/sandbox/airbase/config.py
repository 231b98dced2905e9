"""Configuration of the Airbase simulator: tenants and their tokens, limits, paging, webhooks.

Airbase's reference is behind a customer login (docs/airbase-sandbox.md lists what is
public). The demo tenants are the Visma demo tenants, one Airbase account each, with the
published demo token ``airbase-demo-token-<tenant>``; they start empty (the ERP pushes the
reference data, vendors and bills). The hourly budget of 500 is the ``X-Ratelimit-Limit``
recorded from the live API; the page size default and the approver, bank and AP accounts
put on a payment's ledger entry are UNCONFIRMED choices of the sandbox.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sandbox.airbase.profile import AirbaseProfile

DEMO_TENANTS = ("tenant-se-1", "tenant-no-1", "tenant-dk-1")


def demo_token(tenant: str) -> str:
    """The published demo token of a demo tenant (never a real one)."""
    return f"airbase-demo-token-{tenant}"


DEMO_AIRBASE_TOKEN = demo_token(DEMO_TENANTS[0])


class AirbaseTenant(BaseModel):
    id: str
    tokens: list[SecretStr]


def _demo_tenants() -> list[AirbaseTenant]:
    return [AirbaseTenant(id=t, tokens=[SecretStr(demo_token(t))]) for t in DEMO_TENANTS]


class PaymentDefaults(BaseModel):
    """What an approver's payment carries besides the bill (UNCONFIRMED: the sandbox's choice)."""

    approver_name: str = "Demo Approver"
    approver_email: str = "approver@nordic-demo.example"
    bank_account: str = "1930"
    bank_account_name: str = "Business account"
    ap_account: str = "2440"
    ap_account_name: str = "Accounts payable"


class WebhookTarget(BaseModel):
    """Where and how one tenant's events go (the portal's webhook settings)."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    secret: SecretStr | None = None
    duplicate_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    shuffle: bool = False
    signature_header: str = "X-Airbase-Signature"
    signature_prefix: str = "sha256="

    def view(self) -> dict[str, Any]:
        shown = self.model_dump(exclude={"secret"})
        return {**shown, "has_secret": self.secret is not None}


class AirbaseWebhookConfig(BaseModel):
    targets: dict[str, WebhookTarget] = Field(default_factory=dict)
    """Per tenant from the start (a sandbox run as a process); ``PUT /webhooks`` changes them."""
    retry_delays_seconds: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: [10.0, 60.0, 300.0], max_length=10
    )
    """Sandbox seconds before each retry of a failed delivery (Airbase's schedule is
    UNCONFIRMED; at-least-once delivery is what the seed promises)."""
    timeout_seconds: float = Field(default=10.0, gt=0)
    shuffle_batch: int = Field(default=4, ge=2, le=100)
    """With ``shuffle`` on, held events go out (in a seeded random order) once this many wait."""
    shuffle_window_seconds: float = Field(default=5.0, gt=0)
    """…or this many sandbox seconds after the first of them was held."""


class AirbaseConfig(BaseModel):
    tenants: list[AirbaseTenant] = Field(default_factory=_demo_tenants)
    profile: AirbaseProfile = Field(default_factory=AirbaseProfile)
    requests_per_hour: int = Field(default=500, gt=0)
    """Per token, as ``X-Ratelimit-Limit: 500`` recorded from the live API."""
    default_page_size: int = Field(default=100, gt=0)
    max_page_size: int = Field(default=1000, gt=0)
    public_base_url: str = "https://api.airbase.io"
    """What the ``url`` fields of records start with (the live API's own address)."""
    dashboard_base_url: str = "https://dashboard.airbase.io"
    payments: PaymentDefaults = Field(default_factory=PaymentDefaults)
    webhooks: AirbaseWebhookConfig = Field(default_factory=AirbaseWebhookConfig)
