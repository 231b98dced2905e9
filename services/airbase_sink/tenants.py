"""Which Airbase account each tenant writes to, and how to sign in to it (a YAML file).

    tenants:
      - tenant_id: tenant-se-1
        company_id: "1234567"
        api_base: https://api.airbase.io
        credential: airbase/tenant-se-1     # the token's name in the vault, never the token
        auth_scheme: Token                   # optional: Token (default) or Bearer
        profile: airbase-profile.yaml        # optional: paths and field names (UNCONFIRMED)
        subsidiary: SE01                     # optional: the subsidiary bills and orders name
        cost_center_dimensions: [SUBACCOUNT] # which Visma dimensions are cost centers

One Airbase account per Visma tenant (the issue 14 contract): the tenant's Visma company is
`company_id`. The same file shape serves the airbase-poller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chassis.errors import PermanentError
from chassis.yaml_source import YamlSourceError, load_model


class AirbaseTenant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str = Field(min_length=1)
    company_id: str = Field(min_length=1)
    api_base: str = Field(min_length=1, description="Airbase's API host (the sandbox's /airbase)")
    credential: str = Field(min_length=1, description="vault name of the tenant's API token")
    auth_scheme: Literal["Token", "Bearer"] | None = Field(
        default=None, description="overrides the profile's scheme (Token by default)"
    )
    profile: Path | None = Field(default=None, description="paths and field names (YAML)")
    subsidiary: str | None = Field(
        default=None, description="the ERP reference of the subsidiary bills and orders name"
    )
    cost_center_dimensions: tuple[str, ...] = Field(
        default=("SUBACCOUNT",),
        description="Visma dimensions whose values are Airbase departments (cost centers)",
    )


class AirbaseTenantsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: list[AirbaseTenant] = Field(min_length=1)


class TenantConfigError(PermanentError):
    """The tenants file cannot be used; the message names the file, line and field."""


def load_tenants(path: Path) -> dict[str, AirbaseTenant]:
    """Tenant id -> its Airbase account; a tenant named twice is refused. A relative
    profile path is read relative to the file."""
    try:
        parsed = load_model(path, AirbaseTenantsFile, expected="a mapping with 'tenants'")
    except YamlSourceError as exc:
        raise TenantConfigError(str(exc)) from exc
    tenants: dict[str, AirbaseTenant] = {}
    for tenant in parsed.tenants:
        if tenant.tenant_id in tenants:
            raise TenantConfigError(f"{path}: tenant {tenant.tenant_id} is configured twice")
        if tenant.profile is not None and not tenant.profile.is_absolute():
            tenant = tenant.model_copy(update={"profile": path.parent / tenant.profile})
        tenants[tenant.tenant_id] = tenant
    return tenants
