"""Configuration of one sandbox run, with the demo defaults.

Everything a simulator needs (registered clients, budgets, channels, seed) is here so the
CLI, a YAML file and tests all build the same object. Defaults follow the seed documents
where the public facts leave a number open (500 Visma calls per hour, 1 Slack message per
second per channel).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sandbox.airbase.config import AirbaseConfig
from sandbox.bill.config import BillConfig
from sandbox.monday.config import MondayConfig
from sandbox.twilio.config import SendGridConfig, TwilioConfig

DEMO_CLIENT_ID = "mlc-demo"
VISMA_SCOPES = tuple(
    f"vismanet_erp_service_api:{right}" for right in ("create", "delete", "read", "update")
)
DEMO_TENANTS = ("tenant-se-1", "tenant-no-1", "tenant-dk-1")
DEMO_BOT_TOKEN = "xoxb-mlc-demo-token"  # noqa: S105 - published demo credential
DEMO_CHANNELS = ("ap-approvals", "ap-large", "finance-nordic")


class VismaClientRegistration(BaseModel):
    """One Visma Connect client allowed to obtain tokens for one company tenant."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    client_secret: SecretStr
    tenant_id: str
    scopes: list[str] = Field(default_factory=lambda: list(VISMA_SCOPES))
    """What the client may be granted; asking for another is `invalid_scope`."""


def _demo_clients() -> list[VismaClientRegistration]:
    secret = SecretStr("mlc-demo-secret")
    return [
        VismaClientRegistration(client_id=DEMO_CLIENT_ID, client_secret=secret, tenant_id=t)
        for t in DEMO_TENANTS
    ]


class VismaConfig(BaseModel):
    clients: list[VismaClientRegistration] = Field(default_factory=_demo_clients)
    token_ttl_seconds: int = Field(default=3600, gt=0)
    max_page_size: int = Field(default=100, gt=0)
    hourly_budget: int = Field(default=500, gt=0)
    budget_window_seconds: int = Field(default=3600, gt=0)
    # UNCONFIRMED live behaviour: whether a mismatching ipp-company-id header is rejected.
    # False (default) ignores the header; True answers 401 when it names another company.
    strict_company_header: bool = False
    invoices_per_company: int = Field(default=25, ge=0)
    # Seeded records of every other entity per company; ``entity_counts`` overrides one
    # entity (keys are canonical names: "supplier", "purchaseOrder", ...). Suppliers are
    # at least 12 unless set explicitly: the invoice ledger draws from that many.
    records_per_company: int = Field(default=10, ge=0)
    entity_counts: dict[str, int] = Field(default_factory=dict)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)

    def count_for(self, entity: str, *, records_per_company: int | None = None) -> int:
        if entity == "supplierInvoice":
            return self.invoices_per_company
        if entity in self.entity_counts:
            return self.entity_counts[entity]
        records = self.records_per_company if records_per_company is None else records_per_company
        return max(records, 12) if entity == "supplier" else records

    @property
    def tenants(self) -> list[str]:
        """Company tenants in registration order; one Visma company per tenant."""
        return list(dict.fromkeys(c.tenant_id for c in self.clients))


class SlackUserSeed(BaseModel):
    email: str
    name: str


def _demo_users() -> list[SlackUserSeed]:
    return [
        SlackUserSeed(email="ap.clerk@nordic-demo.example", name="ap.clerk"),
        SlackUserSeed(email="cfo@nordic-demo.example", name="cfo"),
    ]


class SlackEventsConfig(BaseModel):
    """Where and how the workspace delivers Events API callbacks (``url`` None: nowhere).

    ``retry_delays_seconds`` are sandbox-clock seconds before retry 1, 2, 3 (Slack: at
    once, ~1 min, ~5 min); the real wait is divided by the clock speed when it runs, so a
    fast clock makes retries come fast. ``duplicate_rate`` is the share of acknowledged
    events sent once more as a retry (Slack did not see the ack in time), for dedupe tests.
    """

    url: str | None = None
    signing_secret: SecretStr = SecretStr("mlc-demo-signing-secret")
    verification_token: str = "mlc-demo-verification-token"  # noqa: S105 - deprecated field
    api_app_id: str = "A0MLCDEMO"
    ack_timeout_seconds: float = Field(default=3.0, gt=0)
    retry_delays_seconds: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: [0.0, 60.0, 300.0], max_length=10
    )
    duplicate_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # Slack also sends the app's own posts as message events (with bot_id); off by default
    # so the demo's callbacks are only what people do.
    deliver_bot_messages: bool = False


class SlackConfig(BaseModel):
    bot_tokens: list[str] = Field(default_factory=lambda: [DEMO_BOT_TOKEN])
    channels: list[str] = Field(default_factory=lambda: list(DEMO_CHANNELS))
    extra_channels: list[str] = Field(default_factory=list)
    users: list[SlackUserSeed] = Field(default_factory=_demo_users)
    rate_per_second: float = Field(default=1.0, gt=0)
    burst: int = Field(default=1, ge=1)
    team_id: str = "T0MLCDEMO"
    events: SlackEventsConfig = Field(default_factory=SlackEventsConfig)


class SandboxConfig(BaseModel):
    seed: int = 42
    clock_speed: float = Field(default=1.0, ge=0)
    clock_start: datetime | None = None
    visma: VismaConfig = Field(default_factory=VismaConfig)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    twilio: TwilioConfig = Field(default_factory=TwilioConfig)
    sendgrid: SendGridConfig = Field(default_factory=SendGridConfig)
    monday: MondayConfig = Field(default_factory=MondayConfig)
    bill: BillConfig = Field(default_factory=BillConfig)
    airbase: AirbaseConfig = Field(default_factory=AirbaseConfig)
