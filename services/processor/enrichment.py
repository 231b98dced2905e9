"""Reference data for events: who the vendor is, who the employee is.

Reference entities (suppliers, employees, ...) arrive on compacted topics that every replica
reads whole into a `CompactedView`. An event that names a supplier or employee not seen yet
waits, bounded, for it; past the bound it goes on with what is known. It is never dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel

from events.visma import VismaEntityChanged

log = logging.getLogger(__name__)

Record = dict[str, Any]
MISS_MEMORY_SECONDS = 60.0


class ReferenceLookup(Protocol):
    """Where reference records are found by key: the processor's live `CompactedView`, or
    a snapshot read back from the reference topics (`mlc rules preview`)."""

    def get(self, key: str) -> Record | None: ...

    def wait_for(self, key: str, timeout: float) -> Record | None: ...


def payload_of(event: VismaEntityChanged) -> BaseModel | None:
    for name in type(event).model_fields:
        value = getattr(event, name)
        if isinstance(value, BaseModel):
            return value
    return None


class ReferenceData:
    def __init__(self, view: ReferenceLookup, *, wait_seconds: float) -> None:
        self._view = view
        self._wait = wait_seconds
        self._missed: dict[str, float] = {}
        """Keys that did not arrive in time: not waited for again for a while."""

    async def enrich(self, event: VismaEntityChanged) -> Mapping[str, str]:
        payload = payload_of(event)
        if payload is None:
            return {}
        found: dict[str, str] = {}
        supplier = getattr(payload, "supplier_number", None)
        if supplier:
            record = await self._lookup(event, "supplier", str(supplier))
            if record is not None:
                vendor = record["supplier"]
                _put(found, "vendor_name", vendor.get("name"))
                _put(found, "vendor_category", vendor.get("supplier_class_description")
                     or vendor.get("supplier_class_id"))  # fmt: skip
                _put(found, "vendor_email", vendor.get("email"))
        employee = getattr(payload, "employee_number", None)
        if employee:
            record = await self._lookup(event, "employee", str(employee))
            if record is not None:
                person = record["employee"]
                _put(found, "employee_name", person.get("employee_name"))
                _put(found, "employee_email", person.get("email"))
                _put(found, "employee_phone", person.get("phone"))
        return found

    async def _lookup(
        self, event: VismaEntityChanged, entity: str, entity_id: str
    ) -> Record | None:
        key = f"{event.tenant_id}/{event.company_id}/{entity}/{entity_id}"
        record = self._view.get(key)
        now = time.monotonic()
        if record is not None or self._wait <= 0 or self._missed.get(key, 0.0) > now:
            return record
        record = await asyncio.to_thread(self._view.wait_for, key, self._wait)
        if record is None:
            self._missed[key] = now + MISS_MEMORY_SECONDS
            # In the message, not only in fields: faust's and plain-text log formats drop extras.
            log.warning(
                "reference data missing: waited %gs for %s %s (%s) needed by %s, "
                "going on without it",
                self._wait, entity, entity_id, key, event.key,
                extra={"key": key, "needed_by": event.key, "waited_seconds": self._wait},
            )  # fmt: skip
        return record


def _put(target: dict[str, str], name: str, value: object) -> None:
    if value is not None and str(value).strip():
        target[name] = str(value)
