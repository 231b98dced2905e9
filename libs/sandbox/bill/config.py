"""Configuration of the BILL simulator: organizations, dev keys, limits and webhook delivery.

Defaults follow BILL's published figures (35 minutes idle per session, 200 logins an hour,
20,000 requests per devKey an hour, 3 concurrent requests per devKey and organization,
``max`` up to 100). The demo organization, user and devKey are published credentials of
the sandbox, never real ones. Webhook delivery has two modes because the sources disagree:
BILL's docs retry a failed delivery with backoff and then disable the subscription
(``retry``, the default: the public docs win), the seed says one attempt only (``once``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr

DEMO_ORGANIZATION_ID = "00801MLCDEMODK000001"
DEMO_USERNAME = "ap@nordisk-demo.example"
DEMO_PASSWORD = "mlc-demo-bill-password"  # noqa: S105 - published demo credential
DEMO_DEV_KEY = "mlc-demo-bill-devkey-0000000000"  # published demo credential


class DeliveryMode(StrEnum):
    ONCE = "once"
    """One attempt per event, as the seed describes; a failure is simply lost."""
    RETRY = "retry"
    """BILL's docs: retried with backoff; when retries run out the subscription is disabled."""


class BillUser(BaseModel):
    username: str
    password: SecretStr


class OrganizationSeed(BaseModel):
    """Records an organization starts with, as a firm that used BILL before connecting."""

    visma_tenant: str | None = None
    """Vendors mirror this Visma company's suppliers (name, VAT number as ``taxId``)."""
    vendors: int = Field(default=8, ge=0, le=1000)
    unmatched_vendors: int = Field(default=1, ge=0, le=100)
    """Vendors more, with no counterpart in Visma (the seed's unmatched vendors)."""
    bills_per_vendor: int = Field(default=2, ge=0, le=100)


class BillOrganization(BaseModel):
    id: str = Field(pattern=r"^008[0-9A-Za-z]{1,29}$")
    name: str
    users: list[BillUser]
    seed: OrganizationSeed | None = None
    """None: the organization starts empty (tests create what they need)."""


def _demo_organizations() -> list[BillOrganization]:
    user = BillUser(username=DEMO_USERNAME, password=SecretStr(DEMO_PASSWORD))
    return [BillOrganization(id=DEMO_ORGANIZATION_ID, name="Nordisk Demo ApS", users=[user])]


class BillWebhookConfig(BaseModel):
    mode: DeliveryMode = DeliveryMode.RETRY
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of events never sent at all (lost on the way), drawn from the seeded generator."""
    retry_delays_seconds: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: [60.0, 300.0, 900.0, 3600.0, 7200.0], max_length=20
    )
    """Sandbox seconds before each retry in ``retry`` mode (BILL's schedule is UNCONFIRMED)."""
    timeout_seconds: float = Field(default=10.0, gt=0)


class BillConfig(BaseModel):
    organizations: list[BillOrganization] = Field(default_factory=_demo_organizations)
    dev_keys: list[SecretStr] = Field(default_factory=lambda: [SecretStr(DEMO_DEV_KEY)])
    session_idle_seconds: float = Field(default=35 * 60, gt=0)
    logins_per_hour: int = Field(default=200, gt=0)
    """Per devKey (whether BILL counts per devKey, user or organization is UNCONFIRMED)."""
    requests_per_hour: int = Field(default=20_000, gt=0)
    """Per devKey, else ``BDC_1144``."""
    concurrent_requests: int = Field(default=3, gt=0)
    """Per devKey and organization, else ``BDC_1322``."""
    limit_status: int = Field(default=400, ge=400, le=599)
    """HTTP status of the limit errors: UNCONFIRMED (a third-party note says 4xx, not 429)."""
    request_latency_seconds: float = Field(default=0.0, ge=0, le=10)
    """Sandbox seconds an API call takes, so concurrent calls overlap visibly."""
    default_page_size: int = Field(default=20, gt=0)
    max_page_size: int = Field(default=100, gt=0)
    webhooks: BillWebhookConfig = Field(default_factory=BillWebhookConfig)
