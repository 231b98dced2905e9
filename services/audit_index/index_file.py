"""The audit index on disk: one SQLite file that maps every searchable id to audit records.

SQLite (stdlib, embedded) because the question is a point lookup by id on a million rows:
a B-tree answers it in microseconds from one file that survives restarts, with no server to
run; WAL lets `mlc audit` read while the indexer writes. Each record is stored once as JSON
(the record as the indexer decoded it, `at` in ISO 8601), so answering needs neither the
Avro schemas nor fastavro: `mlc audit` starts a new process for each question and must
answer within a second on a loaded machine, and any SQLite client can read the file. `ids`
holds one row per (id, kind, record), keyed for the lookup. Inserting is idempotent on
`audit_id`: a redelivered record changes nothing.

The chain of an id keeps `mlc audit`'s semantics (`mlc.audit.chain_for`): an entity key gives
every record of that entity; any other id gives the records that hold it and every record
sharing an event id or command id with them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from audit_index.lineage_ids import IdKind
from chassis.errors import PermanentError, RetryableError

__all__ = [
    "PATH_VARIABLE",
    "AuditIndexFile",
    "IndexSize",
    "IndexUnavailable",
    "IndexWriteFailed",
    "IndexedRecord",
    "audit_document",
]

PATH_VARIABLE = "MLC_AUDIT_INDEX_PATH"
"""Where the indexer writes the file and `mlc audit` reads it (here, not with the indexer's
settings, so the command does not load pydantic-settings for one name)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    rec INTEGER PRIMARY KEY,
    audit_id TEXT NOT NULL UNIQUE,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ids (
    token TEXT NOT NULL,
    kind INTEGER NOT NULL,
    rec INTEGER NOT NULL,
    PRIMARY KEY (token, kind, rec)
) WITHOUT ROWID;
"""
FORMAT = 1
"""The file's layout (SQLite's user_version): a file of another one is refused, not misread."""
_CHUNK = 500
"""Ids bound in one `IN (...)`: well under SQLite's limit of bound variables."""


class IndexWriteFailed(RetryableError):
    """SQLite refused a batch (disk full, I/O error, a lock held too long); nothing of the
    batch was written and no offset moves past it, so the batch is tried again."""


class IndexUnavailable(PermanentError):
    """The index file is missing or is not an audit index."""


class IndexedRecord(NamedTuple):
    """One audit record as the index stores it: its id, its JSON, the ids it is found by."""

    audit_id: str
    document: str
    ids: frozenset[tuple[str, IdKind]]


class IndexSize(NamedTuple):
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
        """Opens (creating it and its tables if needed) the file the indexer writes;
        `IndexUnavailable` when it holds an index of another format."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # The indexer writes from its one writer thread, one batch at a time.
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed batch survives a power loss, since its offsets are committed
            # to Kafka right after and will not be read again.
            db.execute("PRAGMA synchronous=FULL")
            if _tables(db) == 0:
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version = {FORMAT}")
        except sqlite3.Error as exc:
            raise IndexWriteFailed(f"cannot open the audit index {path}: {exc}") from exc
        return cls(_checked(db, path), path)

    @classmethod
    def for_reading(cls, path: Path) -> AuditIndexFile:
        """Opens an existing index read-only; `IndexUnavailable` when there is none."""
        if not path.is_file():
            raise IndexUnavailable(f"no audit index at {path}")
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            _tables(db)
        except sqlite3.Error as exc:
            raise IndexUnavailable(f"{path} is not a readable audit index: {exc}") from exc
        return cls(_checked(db, path), path)

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
                "INSERT OR IGNORE INTO records (audit_id, document) VALUES (?, ?)",
                (record.audit_id, record.document),
            )
            if cursor.rowcount == 0:
                continue
            added += 1
            rec = cursor.lastrowid
            assert rec is not None
            rows.extend((token, int(kind), rec) for token, kind in record.ids)
        self._db.executemany("INSERT OR IGNORE INTO ids (token, kind, rec) VALUES (?, ?, ?)", rows)
        return added

    def chain(self, wanted: str) -> list[dict[str, Any]]:
        """The records of `wanted`'s chain, oldest first (empty when no record holds it)."""
        entity = self._records_holding([wanted], IdKind.ENTITY)
        if entity:
            return _oldest_first(self._decoded(entity))
        direct = self._records_holding([wanted], None)
        found = self._decoded(direct)
        events = {r["event_id"] for r in found.values() if r.get("event_id")}
        commands = {r["command_id"] for r in found.values() if r.get("command_id")}
        sharing = self._records_holding(events, IdKind.EVENT) | self._records_holding(
            commands, IdKind.COMMAND
        )
        found.update(self._decoded(sharing - found.keys()))
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

    def _decoded(self, recs: Iterable[int]) -> dict[int, dict[str, Any]]:
        wanted = sorted(recs)
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT rec, document FROM records WHERE rec IN ({marks})"  # noqa: S608
            found.update((rec, _record(text)) for rec, text in self._db.execute(sql, chunk))
        return found

    def size(self) -> IndexSize:
        (records,) = self._db.execute("SELECT count(*) FROM records").fetchone()
        (ids,) = self._db.execute("SELECT count(*) FROM ids").fetchone()
        wal = self.path.with_name(self.path.name + "-wal")
        on_disk = self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        return IndexSize(records=records, ids=ids, bytes=on_disk)


def _tables(db: sqlite3.Connection) -> int:
    (count,) = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
    return int(count)


def _checked(db: sqlite3.Connection, path: Path) -> sqlite3.Connection:
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version != FORMAT:
        db.close()
        raise IndexUnavailable(
            f"{path} holds an audit index of format {version}, this version reads format "
            f"{FORMAT}: delete it (and its -wal and -shm) and run the indexer to rebuild it"
        )
    return db


def audit_document(record: Mapping[str, Any]) -> str:
    """An audit record (as the serde decodes it) as the index stores it."""
    at: datetime = record["at"]
    return json.dumps(
        {**record, "at": at.isoformat(timespec="milliseconds")}, separators=(",", ":")
    )


def _record(document: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(document)
    record["at"] = datetime.fromisoformat(record["at"])
    return record


def _oldest_first(found: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """By time; records of the same millisecond in the order they were indexed."""
    return [found[rec] for rec in sorted(found, key=lambda rec: (found[rec]["at"], rec))]
