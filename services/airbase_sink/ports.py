"""What the sink needs of a tenant's Airbase client.

The delivery logic is written against this small interface, so unit tests hand it an
in-memory account and the composition root hands it `airbase_client.AirbaseClient`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class AirbaseObject(Protocol):
    @property
    def airbase_id(self) -> str: ...


class AirbaseAccount(Protocol):
    """One tenant's Airbase account (its token), as the sink uses it."""

    async def find_by_erp_reference(
        self, resource: str, erp_reference_id: str
    ) -> AirbaseObject | None:
        """The object of `resource` holding `erp_reference_id`, or None."""
        ...

    async def create(self, resource: str, body: Mapping[str, Any]) -> AirbaseObject: ...

    async def update(
        self, resource: str, airbase_id: str, changes: Mapping[str, Any]
    ) -> AirbaseObject: ...

    async def mark_synced(self, entry_id: str, erp_reference_id: str) -> AirbaseObject:
        """Marks a ledger entry synced as `erp_reference_id` (again with the same one is a
        success)."""
        ...
