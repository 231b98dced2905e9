"""One Airbase tenant's records: every collection, in creation order, with write counters.

Records are kept in our field names with internal ``id`` (DRF's primary key) and
``airbase_id`` (a UUID drawn from the seeded generator, so a run repeats); an answer shows
only the resource's field set. Counters say how many creates and updates each
``erp_reference_id`` got, so a test can assert "each once".
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from sandbox.airbase.errors import field_errors, not_found
from sandbox.airbase.resources import RESOURCES, Resource

_UNSET = object()


def view(resource: Resource, record: dict[str, Any]) -> dict[str, Any]:
    return {field: record.get(field) for field in resource.fields}


class TenantRecords:
    def __init__(self, tenant: str, rng: random.Random) -> None:
        self.tenant = tenant
        self._rng = rng
        self._ids = {r: itertools.count(1) for r in RESOURCES}
        self.collections: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in RESOURCES}
        self.creates: dict[str, Counter[str]] = {r: Counter() for r in RESOURCES}
        self.updates: dict[str, Counter[str]] = {r: Counter() for r in RESOURCES}
        self.unchanged: dict[str, Counter[str]] = {r: Counter() for r in RESOURCES}

    def new_ids(self, resource: str) -> tuple[int, str]:
        """DRF's primary key (a sequence per collection) and a UUID ``airbase_id``."""
        uid = uuid.UUID(int=self._rng.getrandbits(128), version=4)
        return next(self._ids[resource]), str(uid)

    def insert(
        self, resource: str, record: dict[str, Any], *, now: datetime, counted: bool = True
    ) -> dict[str, Any]:
        """Stores a new record; ``counted`` False for what Airbase itself makes (entries)."""
        record_id, airbase_id = self.new_ids(resource)
        stored = {"id": record_id, "airbase_id": airbase_id, **record}
        if "updated_at" in RESOURCES[resource].fields:
            stored["updated_at"] = now.isoformat()
        self.collections[resource][airbase_id] = stored
        if counted:
            self.creates[resource][str(stored.get("erp_reference_id"))] += 1
        return stored

    def get(self, resource: str, airbase_id: str) -> dict[str, Any]:
        record = self.collections[resource].get(airbase_id)
        if record is None:
            raise not_found()
        return record

    def update(
        self,
        resource: str,
        airbase_id: str,
        values: dict[str, Any],
        *,
        now: datetime,
        counted: bool = True,
    ) -> dict[str, Any]:
        """Applies what changed; ``counted`` False for an approver's status changes."""
        record = self.get(resource, airbase_id)
        changed = {k: v for k, v in values.items() if record.get(k, _UNSET) != v}
        key = str(values.get("erp_reference_id", record.get("erp_reference_id")))
        if not changed:
            if counted:
                self.unchanged[resource][key] += 1
            return record
        record.update(changed)
        if "updated_at" in RESOURCES[resource].fields:
            record["updated_at"] = now.isoformat()
        if counted:
            self.updates[resource][key] += 1
        return record

    def every(self, resource: str) -> list[dict[str, Any]]:
        return list(self.collections[resource].values())

    def matching(self, resource: str, filters: dict[str, str]) -> list[dict[str, Any]]:
        """Records whose filter fields equal the given strings, in creation order; a status
        that is none of the resource's answers django-filter's 400."""
        spec = RESOURCES[resource]
        wanted = dict(filters)
        status = wanted.get("status")
        if status is not None and status not in spec.statuses:
            message = f"Select a valid choice. {status} is not one of the available choices."
            raise field_errors({"status": [message]})
        if spec.default_status is not None and "status" not in wanted:
            wanted["status"] = spec.default_status
        return [
            record
            for record in self.every(resource)
            if all(_text(record.get(field)) == value for field, value in wanted.items())
        ]

    def by_reference(self, resource: str, erp_reference_id: str) -> dict[str, Any] | None:
        for record in self.every(resource):
            if record.get("erp_reference_id") == erp_reference_id:
                return record
        return None

    def vendor_named_by(self, value: Any, *, api_name: str) -> dict[str, Any]:
        """The vendor a bill or order names by ``{"erp_reference_id": …}``, or DRF's 400
        naming the field as the API calls it (``api_name``)."""
        reference = value.get("erp_reference_id") if isinstance(value, dict) else value
        vendor = None if reference is None else self.by_reference("vendors", str(reference))
        if vendor is None:
            raise field_errors({"vendor": [f"Object with {api_name}={reference} does not exist."]})
        return vendor

    def counters(self, resource: str) -> dict[str, dict[str, int]]:
        return {
            "creates": dict(self.creates[resource]),
            "updates": dict(self.updates[resource]),
            "unchanged": dict(self.unchanged[resource]),
        }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
