"""A generic per-company store of Visma records, in creation order, with row versions.

Every entity type lives here as JSON-ready fields plus the stamps the live ERP adds:
``createdDateTime``, ``lastModifiedDateTime`` (UTC, milliseconds) and ``timeStamp``, a
rowversion-like ETag that changes on every change. A change never moves a record, so a
paged read stays stable while records change underneath it, unless the paging switch
(``sandbox.visma.paging``) orders lists by number and inserts and deletes while paged.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.visma.entities import EntitySpec
from sandbox.visma.records import format_millis, to_millis


@dataclass
class Record:
    entity: str
    company: str
    entity_id: str
    short_id: str
    fields: dict[str, Any]
    created: datetime
    last_modified: datetime
    internal_id: int = 0
    timestamp: str = ""


def record_dto(record: Record, *, total_count: int, max_page_size: int) -> dict[str, object]:
    """The read DTO: the entity's fields, then the stamps and the paging metadata."""
    return {
        **record.fields,
        "lastModifiedDateTime": format_millis(record.last_modified),
        "createdDateTime": format_millis(record.created),
        "timeStamp": record.timestamp,
        "metadata": {"totalCount": total_count, "maxPageSize": max_page_size},
    }


@dataclass
class EntityStore:
    _records: dict[str, dict[str, list[Record]]] = field(default_factory=dict)
    _index: dict[tuple[str, str, str], Record] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _versions: Iterator[int] = field(default_factory=lambda: itertools.count(7001))
    changes: int = 0
    """Records added, changed or removed since the start (seeding included): a test that
    must change nothing compares it before and after."""

    def clear(self) -> None:
        self._records.clear()
        self._index.clear()

    def companies(self, entity: str) -> list[str]:
        return list(self._records.get(entity, {}))

    def ensure_company(self, entity: str, company: str) -> None:
        self._records.setdefault(entity, {}).setdefault(company, [])

    def add(
        self,
        spec: EntitySpec,
        company: str,
        fields: dict[str, Any],
        *,
        created: datetime,
        last_modified: datetime,
    ) -> Record:
        entity_id = spec.entity_id(fields)
        if (spec.name, company, entity_id) in self._index:
            raise KeyError(f"{spec.name} {entity_id} already exists in {company}")
        record = Record(
            entity=spec.name,
            company=company,
            entity_id=entity_id,
            short_id=spec.short_id(fields),
            fields=fields,
            created=to_millis(created),
            last_modified=to_millis(last_modified),
            internal_id=next(self._ids),
            timestamp=self._next_version(),
        )
        self._records.setdefault(spec.name, {}).setdefault(company, []).append(record)
        self._index[(spec.name, company, entity_id)] = record
        self.changes += 1
        return record

    def touch(self, record: Record, now: datetime) -> None:
        """Record a change: a new modification time and a new ETag."""
        record.last_modified = to_millis(now)
        record.timestamp = self._next_version()
        self.changes += 1

    def remove(self, record: Record) -> None:
        """Delete a record (the paging switch deletes while a client pages)."""
        self._records[record.entity][record.company].remove(record)
        del self._index[(record.entity, record.company, record.entity_id)]
        self.changes += 1

    def list(self, entity: str, company: str) -> list[Record]:
        return list(self._records.get(entity, {}).get(company, []))

    def contains(self, entity: str, company: str, entity_id: str) -> bool:
        return (entity, company, entity_id) in self._index

    def get(self, entity: str, company: str, key: str) -> Record | None:
        """By full entity id (``a:b`` or ``a/b``), else by the last id part alone."""
        for candidate in (key, key.replace("/", ":")):
            found = self._index.get((entity, company, candidate))
            if found is not None:
                return found
        for record in self._records.get(entity, {}).get(company, []):
            if record.short_id == key:
                return record
        return None

    def _next_version(self) -> str:
        # Visma's timeStamp is a SQL rowversion rendered in base64; mimic that shape.
        return base64.b64encode(next(self._versions).to_bytes(8, "big")).decode("ascii")
