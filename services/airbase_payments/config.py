"""The Airbase payments mapping file: per tenant, the Visma company its Airbase account books
into and, one by one, the Visma account and cost center of every Airbase reference.

Airbase's GL accounts and departments are reference tables the ERP owns (the airbase-sink
writes them from Visma), so a payment line normally names a Visma account number and
subaccount already, as the line's `erp_reference_id`. The file still maps them explicitly:
a reference Airbase holds that no one mapped (made by hand in Airbase, or renamed in Visma
since) holds the payment with a reason naming it, and nothing falls back to a default
account. Mistakes in the file are reported with file, line and field.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from chassis.errors import PermanentError
from chassis.yaml_source import YamlSourceError, load_model, parse_model


class TenantPayments(BaseModel):
    """One tenant's Airbase account and the Visma company its payments are posted to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    company: str = Field(min_length=1, description="the Visma company id")
    accounts: dict[str, str] = Field(
        default_factory=dict,
        description="Airbase GL account erp_reference_id -> Visma account number",
    )
    cost_centers: dict[str, str] = Field(
        default_factory=dict,
        description="Airbase department erp_reference_id -> Visma subaccount (cost center)",
    )
    cost_center_required: bool = Field(
        default=False,
        description="a line without a department tag is held too (else: no subaccount)",
    )


class MappingFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: dict[str, TenantPayments] = Field(min_length=1)


class PaymentsConfigError(PermanentError):
    """The mapping file cannot be used; the message names the file and the field."""


class PaymentsConfig:
    """The mapping file, by tenant."""

    def __init__(self, file: MappingFile) -> None:
        self._tenants = dict(file.tenants)

    def tenant(self, tenant_id: str) -> TenantPayments | None:
        return self._tenants.get(tenant_id)


EXPECTED = "a mapping with 'tenants'"


def load_config(path: Path) -> PaymentsConfig:
    """The mapping file; a mistake names the file, the line and the field."""
    try:
        return PaymentsConfig(load_model(path, MappingFile, expected=EXPECTED))
    except YamlSourceError as exc:
        raise PaymentsConfigError(str(exc)) from exc


def config_from_text(content: bytes, *, source: Path) -> PaymentsConfig:
    """The mapping file's `content` as read from `source` (a reload); mistakes as above."""
    text = content.decode("utf-8", errors="replace")
    try:
        return PaymentsConfig(parse_model(text, MappingFile, source=str(source), expected=EXPECTED))
    except YamlSourceError as exc:
        raise PaymentsConfigError(str(exc)) from exc
