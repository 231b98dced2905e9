"""The BILL mapping file: per tenant, which BILL organization books into which Visma company.

The seed says dimensions are "aligned manually in the configuration": every BILL GL account
and department (cost center) a bill may carry is mapped explicitly to a Visma account and
cost center. Nothing falls back to a default account; an unmapped one holds the bill with a
reason naming it. The vendor policy says what a BILL vendor becomes: `create` (the writer
creates or updates a Visma supplier for it) or `match` (it is paired with a supplier that
already exists in Visma, by an explicit link, organisation number or VAT number, and held as
unmatched otherwise). Mistakes are reported with file, line and field.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from chassis.errors import PermanentError
from chassis.yaml_source import YamlSourceError, load_model


class VendorPolicy(StrEnum):
    CREATE = "create"
    """A BILL vendor creates (or updates) its own Visma supplier."""
    MATCH = "match"
    """A BILL vendor is paired with an existing Visma supplier, or held as unmatched."""


class OrganizationMapping(BaseModel):
    """One BILL organization and the Visma company its vendors and bills go to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organization: str = Field(min_length=1, description="the BILL organization id (008...)")
    company: str = Field(min_length=1, description="the Visma company id")
    vendor_policy: VendorPolicy
    currency: str = Field(
        pattern=r"^[A-Z]{3}$", description="the organization's currency: a bill without its own"
    )
    accounts: dict[str, str] = Field(
        default_factory=dict, description="BILL GL account id -> Visma account number"
    )
    cost_centers: dict[str, str] = Field(
        default_factory=dict, description="BILL department id -> Visma cost center (subaccount)"
    )
    links: dict[str, str] = Field(
        default_factory=dict,
        description="BILL vendor id -> Visma supplier number, pairs known in advance (match)",
    )


class TenantMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    organizations: list[OrganizationMapping] = Field(min_length=1)


class MappingFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: dict[str, TenantMapping] = Field(min_length=1)


class BillMappingConfigError(PermanentError):
    """The mapping file cannot be used; the message names the file and the field."""


class BillMappingConfig:
    """The mapping file, indexed by (tenant, BILL organization)."""

    def __init__(self, file: MappingFile) -> None:
        self._organizations: dict[tuple[str, str], OrganizationMapping] = {}
        for tenant, mapping in file.tenants.items():
            for org in mapping.organizations:
                if (tenant, org.organization) in self._organizations:
                    raise BillMappingConfigError(
                        f"tenants.{tenant}: organization {org.organization} twice"
                    )
                self._organizations[(tenant, org.organization)] = org

    def organization(self, tenant_id: str, organization_id: str) -> OrganizationMapping | None:
        return self._organizations.get((tenant_id, organization_id))


def load_config(path: Path) -> BillMappingConfig:
    """The mapping file; a mistake names the file, the line and the field."""
    try:
        return BillMappingConfig(load_model(path, MappingFile, expected="a mapping with 'tenants'"))
    except YamlSourceError as exc:
        raise BillMappingConfigError(str(exc)) from exc
    except BillMappingConfigError as exc:
        raise BillMappingConfigError(f"{path}: {exc}") from exc
