"""Which BILL organizations the poller polls for which tenant, how often, and within what budget.

Settings (`MLC_BILL_POLLER_*`) say where BILL and the topics are; the YAML file says, per
tenant, each organization and how to sign in to it: the username in the file, the password
and the devKey by their names in the vault (never in the file). The file also sets the
cadence, the overlap and the poll budget per devKey and hour, which keeps the poller well
inside BILL's 20,000 calls per devKey and hour that the webhooks' pulls and the writers share.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bill_client import DEFAULT_BASE_URL, DEFAULT_EVENTS_BASE_URL
from chassis.errors import PermanentError
from chassis.yaml_source import YamlSourceError, compose, located_message, plain_data


class BillPollerSettings(BaseSettings):
    """`MLC_BILL_POLLER_*` variables; the broker is the chassis's `KAFKA_*` settings."""

    model_config = SettingsConfigDict(env_prefix="MLC_BILL_POLLER_", extra="ignore")

    api_base: str = Field(default=DEFAULT_BASE_URL, description="BILL's v3 API")
    events_base: str = Field(
        default=DEFAULT_EVENTS_BASE_URL, description="BILL's webhook API base (subscriptions)"
    )
    topic_prefix: str = Field(default="", description="prefixes every topic (test stacks)")
    transactional_id: str = Field(
        default="mlc-bill-poller",
        min_length=1,
        description="Kafka transactional.id: stable across restarts, so a restart fences a "
        "transaction its predecessor left open",
    )


class BillOrganization(BaseModel):
    """One BILL organization a tenant's payables come from, and how to sign in to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organization_id: str = Field(pattern=r"^008\w+$", description="BILL ids start with 008")
    username: str = Field(min_length=1)
    password_credential: str = Field(min_length=1, description="vault name of the password")
    dev_key_credential: str = Field(min_length=1, description="vault name of the devKey")


class TenantOrganizations(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    organizations: list[BillOrganization] = Field(min_length=1)


class BillPollerFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: dict[str, TenantOrganizations] = Field(min_length=1)
    every_seconds: float = Field(default=300.0, gt=0, description="seconds between cycles")
    overlap_seconds: float = Field(
        default=300.0,
        ge=0,
        description="each poll reads from this long before the previous one started (clock "
        "skew between BILL and the connector, late-visible changes, a poll's own length)",
    )
    page_size: int = Field(default=100, ge=1, le=100, description="records per transaction")
    hourly_poll_budget: int = Field(
        default=2000,
        ge=1,
        le=20000,
        description="list pages and subscription checks per devKey and hour (BILL allows "
        "20,000 calls per devKey and hour to everything that uses the key)",
    )

    def organizations(self) -> list[tuple[str, BillOrganization]]:
        """(tenant, organization) pairs; an organization named twice is refused."""
        pairs = [(t, o) for t, orgs in self.tenants.items() for o in orgs.organizations]
        ids = [o.organization_id for _, o in pairs]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise BillPollerConfigError(f"organization {twice[0]} is configured twice")
        return pairs


class BillPollerConfigError(PermanentError):
    """The poller's file cannot be used; the message names the file, line and field."""


def load_config(path: Path) -> BillPollerFile:
    try:
        root = compose(path.read_text(encoding="utf-8"), source=str(path),
                       expected="a mapping with 'tenants'")  # fmt: skip
        config = BillPollerFile.model_validate(plain_data(root))
    except (OSError, YamlSourceError) as exc:
        raise BillPollerConfigError(str(exc)) from exc
    except ValidationError as exc:
        raise BillPollerConfigError(located_message(exc, root, source=str(path))) from exc
    try:
        config.organizations()
    except BillPollerConfigError as exc:
        raise BillPollerConfigError(f"{path}: {exc}") from exc
    return config
