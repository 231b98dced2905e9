"""The profile: Airbase's paths and field names as configuration, not code.

Airbase's reference is not public, so a customer who has it adapts the paths and field
names here (the same YAML shape the client reads). ``fields`` maps our name to the API's
and applies to every JSON key at any depth, in both directions: answers (and webhook
bodies) are renamed ours -> API, request bodies and query parameter names API -> ours.
Every default path below except vendors and ledger entries is UNCONFIRMED.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_PATHS: dict[str, str] = {
    "vendors": "/v1/accounting/vendors/",
    "accounts": "/v1/accounting/accounts/",
    "subsidiaries": "/v1/accounting/subsidiaries/",
    "departments": "/v1/accounting/departments/",
    "bills": "/v1/accounting/bills/",
    "purchase_orders": "/v1/accounting/purchase_orders/",
    "ledger_entries": "/v1/accounting/ledger_entries/",
}
RESOURCES = tuple(DEFAULT_PATHS)


class AirbaseProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auth_scheme: str = Field(default="Token", pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    """The ``Authorization`` keyword: ``Token`` (the open connectors) or ``Bearer`` (the seed)."""
    paths: dict[str, str] = Field(default_factory=dict)
    """Only the resources whose path differs from ``DEFAULT_PATHS``. A path without its
    trailing slash makes items ``<path>/<airbase_id>`` without one too."""
    fields: dict[str, str] = Field(default_factory=dict)
    """Our field name -> the API's."""

    @model_validator(mode="after")
    def _check(self) -> AirbaseProfile:
        unknown = set(self.paths) - set(RESOURCES)
        if unknown:
            raise ValueError(f"unknown resources in paths: {sorted(unknown)}")
        for resource, path in self.paths.items():
            if not path.startswith("/") or "?" in path or "//" in path or path == "/":
                raise ValueError(f"the path of {resource} must be absolute, no query: {path}")
        if len(set(self.fields.values())) != len(self.fields):
            raise ValueError("two fields are renamed to the same API name")
        if len({p.rstrip("/") for p in self.resolved_paths().values()}) != len(RESOURCES):
            raise ValueError("two resources share a path")
        return self

    def resolved_paths(self) -> dict[str, str]:
        return {**DEFAULT_PATHS, **self.paths}

    def to_api(self, value: Any) -> Any:
        return rename_keys(value, self.fields)

    def from_api(self, value: Any) -> Any:
        return rename_keys(value, {api: ours for ours, api in self.fields.items()})


def rename_keys(value: Any, names: dict[str, str]) -> Any:
    """``value`` with every dict key found in ``names`` renamed, at any depth."""
    if not names:
        return value
    if isinstance(value, dict):
        return {names.get(k, k): rename_keys(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [rename_keys(item, names) for item in value]
    return value
