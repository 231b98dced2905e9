"""The indexer's handler: one audit record read from `audit.v1` into the index.

It translates and delegates: the record's searchable ids (`lineage_ids`) and its bytes go to
the group commit, and the call returns once they are on disk, so the runner commits the
offset after SQLite did.
"""

from __future__ import annotations

from audit_index.group_commit import GroupCommit
from audit_index.index_file import IndexedRecord
from audit_index.lineage_ids import searchable_ids
from chassis.audit import AUDIT_SCHEMA
from chassis.errors import PermanentError
from chassis.kafka.record import Record

__all__ = ["AuditIndexer", "NotAnAuditRecord"]


class NotAnAuditRecord(PermanentError):
    """A record on the audit topic that is not an AuditEvent: dead-lettered, never indexed."""


class AuditIndexer:
    def __init__(self, commits: GroupCommit) -> None:
        self._commits = commits

    async def __call__(self, record: Record) -> None:
        if record.schema != AUDIT_SCHEMA:
            raise NotAnAuditRecord(f"{record.position} is a {record.schema}, not an audit event")
        await self._commits.add(
            IndexedRecord(
                audit_id=record.value["audit_id"],
                value=record.raw,
                ids=frozenset(searchable_ids(record.value)),
            )
        )
