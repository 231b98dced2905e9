"""The indexer's handler: audit records read from `audit.v1` into the index, many at a time.

It translates and delegates: each record's searchable ids (`lineage_ids`) and its JSON go
to the index file in one SQLite transaction per call. The runner hands it every record its
partition's queue holds (its `Batching`, up to `batch_records`), so a backlog of a million
records is written in a thousand transactions, not a million; a record that arrives alone
is its own transaction. The call returns once the transaction committed, and the runner
commits offsets only after the call returned, so no offset moves past a record that is not
in the file. A failed write raises `IndexWriteFailed` and the runner calls again.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from audit_index.index_file import AuditIndexFile, IndexedRecord, audit_document
from audit_index.lineage_ids import searchable_ids
from chassis.audit import AUDIT_SCHEMA
from chassis.errors import PermanentError
from chassis.kafka.record import Batching, Record

__all__ = ["AuditIndexer", "NotAnAuditRecord"]


class NotAnAuditRecord(PermanentError):
    """A record on the audit topic that is not an AuditEvent: dead-lettered, never indexed."""


class AuditIndexer:
    def __init__(self, index: AuditIndexFile, *, batch_records: int) -> None:
        self._index = index
        # One writer thread: SQLite takes one write transaction at a time, and the event loop
        # goes on fetching while a batch is written.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="audit-index-sqlite")
        self.batching = Batching(
            handler=self.write, queue_over=0, max_records=batch_records,
            foldable=lambda record: record.schema == AUDIT_SCHEMA,
        )  # fmt: skip

    async def __call__(self, record: Record) -> None:
        if record.schema != AUDIT_SCHEMA:
            raise NotAnAuditRecord(f"{record.position} is a {record.schema}, not an audit event")
        await self.write([record])

    async def write(self, records: list[Record]) -> None:
        """Writes `records` in one transaction; returns once it committed."""
        entries = [
            IndexedRecord(
                audit_id=record.value["audit_id"],
                document=audit_document(record.value),
                ids=frozenset(searchable_ids(record.value)),
            )
            for record in records
        ]
        await asyncio.get_running_loop().run_in_executor(self._writer, self._index.add, entries)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
