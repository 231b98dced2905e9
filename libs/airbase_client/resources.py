"""The collections the client reads and writes, each tied to the model of its records.

A caller names a collection by its constant (`VENDORS`) and gets records of its type back
(`AirbaseVendor`), or by its profile name (``"vendors"``) and gets the same records typed
as `AirbaseRecord`. Where each lives on the wire is the profile's business, not this one's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from airbase_client.models import (
    AirbaseAccount,
    AirbaseBill,
    AirbaseDepartment,
    AirbaseLedgerEntry,
    AirbasePurchaseOrder,
    AirbaseRecord,
    AirbaseSubsidiary,
    AirbaseVendor,
)
from airbase_client.profile import ResourceName

__all__ = [
    "ACCOUNTS",
    "BILLS",
    "DEPARTMENTS",
    "LEDGER_ENTRIES",
    "PURCHASE_ORDERS",
    "RESOURCES",
    "SUBSIDIARIES",
    "VENDORS",
    "RecordT",
    "Resource",
    "resource_named",
]

RecordT = TypeVar("RecordT", bound=AirbaseRecord)


@dataclass(frozen=True)
class Resource(Generic[RecordT]):
    name: ResourceName
    model: type[RecordT]


VENDORS = Resource("vendors", AirbaseVendor)
ACCOUNTS = Resource("accounts", AirbaseAccount)
SUBSIDIARIES = Resource("subsidiaries", AirbaseSubsidiary)
DEPARTMENTS = Resource("departments", AirbaseDepartment)
BILLS = Resource("bills", AirbaseBill)
PURCHASE_ORDERS = Resource("purchase_orders", AirbasePurchaseOrder)
LEDGER_ENTRIES = Resource("ledger_entries", AirbaseLedgerEntry)

RESOURCES: dict[str, Resource[Any]] = {
    resource.name: resource
    for resource in (
        VENDORS,
        ACCOUNTS,
        SUBSIDIARIES,
        DEPARTMENTS,
        BILLS,
        PURCHASE_ORDERS,
        LEDGER_ENTRIES,
    )
}


def resource_named(name: str) -> Resource[Any]:
    """The collection called `name` in a profile; ValueError for any other name."""
    try:
        return RESOURCES[name]
    except KeyError:
        raise ValueError(f"no Airbase collection {name!r}; known: {sorted(RESOURCES)}") from None
