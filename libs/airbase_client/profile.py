"""Where Airbase keeps each collection and what it calls each field: configuration, not code.

Airbase's reference is behind a customer login, so the collections beyond vendors, accounts,
subsidiaries and ledger entries, and the field names of bills and purchase orders, are
ASSUMED (UNCONFIRMED). A customer who holds the real reference adapts them in a profile
YAML, the same shape the sandbox takes (``python -m sandbox --airbase-profile FILE``)::

    auth_scheme: Token            # DRF TokenAuthentication's keyword (the seed says Bearer)
    paths:                        # only those that differ from DEFAULT_PATHS
      bills: /v1/accounting/bills/
    fields:                       # our name -> the API's name, every JSON key at any depth
      erp_reference_id: external_id

Renames apply both ways: to every key of a body sent and to filter names in a query, and
back on every key of an answer (records, DRF's 400 field errors), so the models and every
caller only ever see the connector's names.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airbase_client.models import field_names
from chassis.yaml_source import load_model

__all__ = ["DEFAULT_PATHS", "AirbaseProfile", "ResourceName", "load_profile"]

ResourceName = Literal[
    "vendors",
    "accounts",
    "subsidiaries",
    "departments",
    "bills",
    "purchase_orders",
    "ledger_entries",
]

DEFAULT_PATHS: dict[str, str] = {
    # Public (Hotglue's tap-airbase and target-airbase): vendors, accounts, subsidiaries,
    # ledger entries. UNCONFIRMED (assumed on the same pattern): departments, bills, POs.
    "vendors": "/v1/accounting/vendors/",
    "accounts": "/v1/accounting/accounts/",
    "subsidiaries": "/v1/accounting/subsidiaries/",
    "departments": "/v1/accounting/departments/",
    "bills": "/v1/accounting/bills/",
    "purchase_orders": "/v1/accounting/purchase_orders/",
    "ledger_entries": "/v1/accounting/ledger_entries/",
}


class AirbaseProfile(BaseModel):
    """One Airbase account's dialect: auth scheme, collection paths, field names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    auth_scheme: str = Field(default="Token", pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    """The ``Authorization`` keyword: ``Token`` (the open connectors) or ``Bearer``."""
    paths: dict[ResourceName, str] = Field(default_factory=dict)
    fields: dict[str, str] = Field(default_factory=dict)

    @field_validator("paths")
    @classmethod
    def _paths_are_absolute(cls, paths: dict[str, str]) -> dict[str, str]:
        for name, path in paths.items():
            if not path.startswith("/") or "?" in path or "//" in path:
                raise ValueError(f"paths.{name}: {path!r} must be an absolute path, no query")
        return paths

    @field_validator("fields")
    @classmethod
    def _field_names_are_plain(cls, fields: dict[str, str]) -> dict[str, str]:
        for ours, theirs in fields.items():
            if not ours or not theirs:
                raise ValueError("fields: a name cannot be empty")
        return fields

    @model_validator(mode="after")
    def _renames_can_be_undone(self) -> AirbaseProfile:
        theirs = list(self.fields.values())
        twice = sorted({name for name in theirs if theirs.count(name) > 1})
        if twice:
            raise ValueError(f"fields: {', '.join(twice)} named for two fields; cannot read back")
        # A key the API sends under its own name must not be mistaken for a renamed one.
        clash = sorted((set(theirs) & field_names()) - set(self.fields))
        if clash:
            raise ValueError(f"fields: {', '.join(clash)} is also a field of ours left unrenamed")
        return self

    def path(self, resource: ResourceName) -> str:
        return self.paths.get(resource, DEFAULT_PATHS[resource])

    def item_path(self, resource: ResourceName, airbase_id: str) -> str:
        """``<collection><airbase_id>/``, or without the slash where the collection has none."""
        collection = self.path(resource)
        slash = "/" if collection.endswith("/") else ""
        return f"{collection.rstrip('/')}/{quote(airbase_id, safe='')}{slash}"

    def to_api(self, value: Any) -> Any:
        """`value` with every key renamed to the API's names, at any depth."""
        return _renamed(value, self.fields)

    def from_api(self, value: Any) -> Any:
        """`value` with every key renamed back to the connector's names, at any depth."""
        return _renamed(value, {theirs: ours for ours, theirs in self.fields.items()})

    def api_name(self, field: str) -> str:
        return self.fields.get(field, field)

    def our_name(self, api_field: str) -> str:
        for ours, theirs in self.fields.items():
            if theirs == api_field:
                return ours
        return api_field


def load_profile(path: Path) -> AirbaseProfile:
    """The profile YAML at `path`; a mistake is a `YamlSourceError` naming file and line."""
    return load_model(path, AirbaseProfile, expected="an Airbase profile (auth_scheme, paths)")


def _renamed(value: Any, names: Mapping[str, str]) -> Any:
    if not names:
        return value
    if isinstance(value, Mapping):
        return {names.get(key, key): _renamed(item, names) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_renamed(item, names) for item in value]
    return value
