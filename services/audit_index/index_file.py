"""The audit index on disk: one SQLite file that maps every searchable id to audit records.

SQLite (stdlib, embedded) because the question is a point lookup by id on a million rows:
a B-tree answers it in microseconds from one file that survives restarts, with no server to
run; WAL lets `mlc audit` read while the indexer writes. Each record is stored once as the
Avro bytes read from `audit.v1` (decoded with the same serde as the topic, so a newer schema
version reads as on the topic); `ids` holds one row per (id, kind, record), keyed for the
lookup. Inserting is idempotent on `audit_id`: a redelivered record changes nothing.

The chain of an id keeps `mlc audit`'s semantics (`mlc.audit.chain_for`): an entity key gives
every record of that entity; any other id gives the records that hold it and every record
sharing an event id or command id with them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit_index.lineage_ids import IdKind
from chassis.errors import PermanentError, RetryableError

__all__ = [
    "PATH_VARIABLE",
    "AuditIndexFile",
    "IndexSize",
    "IndexUnavailable",
    "IndexWriteFailed",
    "IndexedRecord",
]

PATH_VARIABLE = "MLC_AUDIT_INDEX_PATH"
"""Where the indexer writes the file and `mlc audit` reads it (here, not with the indexer's
settings, so the command does not load pydantic-settings for one name)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    rec INTEGER PRIMARY KEY,
    audit_id TEXT NOT NULL UNIQUE,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS ids (
    token TEXT NOT NULL,
    kind INTEGER NOT NULL,
    rec INTEGER NOT NULL,
    PRIMARY KEY (token, kind, rec)
) WITHOUT ROWID;
"""
_CHUNK = 500
"""Ids bound in one `IN (...)`: well under SQLite's limit of bound variables."""

Decode = Callable[[bytes], dict[str, Any]]


class IndexWriteFailed(RetryableError):
    """SQLite refused a batch (disk full, I/O error, a lock held too long); nothing of the
    batch was written and no offset moves past it, so the batch is tried again."""


class IndexUnavailable(PermanentError):
    """The index file is missing or is not an audit index."""


@dataclass(frozen=True)
class IndexedRecord:
    """One audit record as the index stores it: its id, its bytes, the ids it is found by."""

    audit_id: str
    value: bytes
    ids: frozenset[tuple[str, IdKind]]


@dataclass(frozen=True)
class IndexSize:
    records: int
    ids: int
    bytes: int
    """The database file and its write-ahead log."""


class AuditIndexFile:
    """One connection to the index file: the indexer's (writing) or a reader's."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self.path = path

    @classmethod
    def for_writing(cls, path: Path) -> AuditIndexFile:
        """Opens (creating it and its tables if needed) the file the indexer writes."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # The indexer writes from its one writer thread, one batch at a time.
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed batch survives a power loss, since its offsets are committed
            # to Kafka right after and will not be read again.
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise IndexWriteFailed(f"cannot open the audit index {path}: {exc}") from exc
        return cls(db, path)

    @classmethod
    def for_reading(cls, path: Path) -> AuditIndexFile:
        """Opens an existing index read-only; `IndexUnavailable` when there is none."""
        if not path.is_file():
            raise IndexUnavailable(f"no audit index at {path}")
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            db.execute("SELECT 1 FROM records, ids LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise IndexUnavailable(f"{path} is not a readable audit index: {exc}") from exc
        return cls(db, path)

    def close(self) -> None:
        self._db.close()

    def add(self, records: Sequence[IndexedRecord]) -> int:
        """Writes `records` in one transaction; returns how many were new (a record already
        indexed, by its audit_id, is left as it is)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                added = self._insert(records)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise IndexWriteFailed(
                f"audit index {self.path}: a batch of {len(records)} not written: {exc}"
            ) from exc
        return added

    def _insert(self, records: Sequence[IndexedRecord]) -> int:
        rows: list[tuple[str, int, int]] = []
        added = 0
        for record in records:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO records (audit_id, value) VALUES (?, ?)",
                (record.audit_id, record.value),
            )
            if cursor.rowcount == 0:
                continue
            added += 1
            rec = cursor.lastrowid
            assert rec is not None
            rows.extend((token, int(kind), rec) for token, kind in record.ids)
        self._db.executemany("INSERT OR IGNORE INTO ids (token, kind, rec) VALUES (?, ?, ?)", rows)
        return added

    def chain(self, wanted: str, *, decode: Decode) -> list[dict[str, Any]]:
        """The records of `wanted`'s chain, oldest first (empty when no record holds it)."""
        entity = self._records_holding([wanted], IdKind.ENTITY)
        if entity:
            return _oldest_first(self._decoded(entity, decode))
        direct = self._records_holding([wanted], None)
        found = self._decoded(direct, decode)
        events = {r["event_id"] for r in found.values() if r.get("event_id")}
        commands = {r["command_id"] for r in found.values() if r.get("command_id")}
        sharing = self._records_holding(events, IdKind.EVENT) | self._records_holding(
            commands, IdKind.COMMAND
        )
        found.update(self._decoded(sharing - found.keys(), decode))
        return _oldest_first(found)

    def _records_holding(self, tokens: Iterable[str], kind: IdKind | None) -> set[int]:
        wanted = list(tokens)
        recs: set[int] = set()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT rec FROM ids WHERE token IN ({marks})"  # noqa: S608
            args: list[object] = list(chunk)
            if kind is not None:
                sql += " AND kind = ?"
                args.append(int(kind))
            recs.update(rec for (rec,) in self._db.execute(sql, args))
        return recs

    def _decoded(self, recs: Iterable[int], decode: Decode) -> dict[int, dict[str, Any]]:
        wanted = sorted(recs)
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT rec, value FROM records WHERE rec IN ({marks})"  # noqa: S608
            found.update((rec, decode(value)) for rec, value in self._db.execute(sql, chunk))
        return found

    def size(self) -> IndexSize:
        (records,) = self._db.execute("SELECT count(*) FROM records").fetchone()
        (ids,) = self._db.execute("SELECT count(*) FROM ids").fetchone()
        wal = self.path.with_name(self.path.name + "-wal")
        on_disk = self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        return IndexSize(records=records, ids=ids, bytes=on_disk)


def _oldest_first(found: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """By time; records of the same millisecond in the order they were indexed."""
    return [found[rec] for rec in sorted(found, key=lambda rec: (found[rec]["at"], rec))]
