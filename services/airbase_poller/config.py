"""Which Airbase accounts the poller pulls for which tenant, how often, and within what budget.

Settings (`MLC_AIRBASE_POLLER_*`) say where the topics are; the YAML file lists the tenants in
the shape the airbase-sink reads too, its `tenants` list taken as it is (`[{tenant_id,
company_id, api_base, credential, auth_scheme?, profile?, subsidiary?}]`: the token by its
vault name, never in the file), and the poller's own knobs: the interval, which ledger entry
types are payments, and how many calls of the token's hourly allowance it may make and leaves
to the sink.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chassis.errors import PermanentError
from chassis.yaml_source import YamlSourceError, load_model

DEFAULT_API_BASE = "https://api.airbase.io"


class AirbasePollerSettings(BaseSettings):
    """`MLC_AIRBASE_POLLER_*` variables; the broker is the chassis's `KAFKA_*` settings."""

    model_config = SettingsConfigDict(env_prefix="MLC_AIRBASE_POLLER_", extra="ignore")

    topic_prefix: str = Field(default="", description="prefixes every topic (test stacks)")
    transactional_id: str = Field(
        default="mlc-airbase-poller",
        min_length=1,
        description="Kafka transactional.id: stable across restarts, so a restart fences a "
        "transaction its predecessor left open",
    )


class AirbaseTenant(BaseModel):
    """One tenant's Airbase account (one token) and the Visma company it books into."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str = Field(min_length=1, max_length=255)
    company_id: str = Field(min_length=1, description="the Visma company payments post to")
    api_base: str = Field(default=DEFAULT_API_BASE, pattern=r"^https?://\S+$")
    credential: str = Field(min_length=1, description="vault name of the Airbase API token")
    auth_scheme: Literal["Token", "Bearer"] | None = Field(
        default=None, description="Token (Airbase's connectors) or Bearer (the seed); default: "
        "the profile's",
    )  # fmt: skip
    profile: Path | None = Field(
        default=None, description="an Airbase profile YAML (paths and field names)"
    )
    subsidiary: str | None = Field(default=None, description="read by the sink, not here")
    cost_center_dimensions: tuple[str, ...] | None = Field(
        default=None, description="read by the sink, not here (the file may be the sink's)"
    )
    every_seconds: float | None = Field(
        default=None, gt=0, description="this tenant's interval (default: the file's)"
    )


class AirbasePollerFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: list[AirbaseTenant] = Field(min_length=1)
    every_seconds: float = Field(default=300.0, gt=0, description="seconds between pulls")
    payment_types: list[str] = Field(
        default=["bill_payment"],
        min_length=1,
        description="ledger entry `type`s that are payments (UNCONFIRMED: bill_payment)",
    )
    reserve_calls: int = Field(
        default=100,
        ge=0,
        description="calls of the token's hourly allowance left to others (the airbase-sink "
        "writes with the same token): no pull starts, and a pull stops reading, when "
        "X-Ratelimit-Remaining is at or below it",
    )
    hourly_calls: int = Field(
        default=200,
        ge=1,
        description="calls an hour the pulls of one tenant may make (pages and bills; "
        "Airbase allows the token 500 an hour, recorded, which the airbase-sink shares): "
        "scheduled pulls are spaced to fit, and none starts while the hour's are spent",
    )
    nudge_min_seconds: float = Field(
        default=5.0,
        ge=0,
        description="a webhook pulls its tenant at once, but at most once per this many seconds "
        "(unsigned webhooks must not spend the budget)",
    )
    batch_size: int = Field(default=100, ge=1, le=1000, description="facts per transaction")
    forget_after_days: float = Field(
        default=30.0,
        gt=0,
        description="a published entry no complete pull has listed for this long (marked "
        "synced) is forgotten: the poller's memory stays the size of what is pending",
    )

    def interval(self, tenant: AirbaseTenant) -> float:
        return tenant.every_seconds or self.every_seconds

    def tenant_ids(self) -> list[str]:
        """Every tenant once; a tenant named twice is refused."""
        ids = [t.tenant_id for t in self.tenants]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise AirbasePollerConfigError(f"tenant {twice[0]} is configured twice")
        return ids


class AirbasePollerConfigError(PermanentError):
    """The poller's file cannot be used; the message names the file, line and field."""


def load_config(path: Path) -> AirbasePollerFile:
    try:
        config = load_model(path, AirbasePollerFile, expected="a mapping with 'tenants'")
    except YamlSourceError as exc:
        raise AirbasePollerConfigError(str(exc)) from exc
    try:
        config.tenant_ids()
    except AirbasePollerConfigError as exc:
        raise AirbasePollerConfigError(f"{path}: {exc}") from exc
    # A profile named relative to the file is next to it, wherever the poller starts.
    tenants = [
        t.model_copy(update={"profile": path.parent / t.profile})
        if t.profile is not None and not t.profile.is_absolute()
        else t
        for t in config.tenants
    ]
    return config.model_copy(update={"tenants": tenants})
