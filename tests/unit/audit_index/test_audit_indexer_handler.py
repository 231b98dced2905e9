"""The indexer's handler: the runner's batch of audit records is one transaction, a record
that is no audit event is refused (and never folded into a batch), and answering `mlc audit`
from the index loads neither pydantic-settings nor the Kafka client (a new process per
question must answer within a second)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from tests.unit.audit_index.lineage_trail import trail

from audit_index.index_file import AuditIndexFile
from audit_index.indexer import AuditIndexer, NotAnAuditRecord
from chassis.audit import AUDIT_SCHEMA
from chassis.kafka.record import Record

pytestmark = pytest.mark.unit


def records() -> list[Record]:
    return [
        Record(
            topic="audit.v1",
            partition=0,
            offset=n,
            key=r["entity_id"],
            raw=f"bytes {n}".encode(),
            headers=[],
            schema=AUDIT_SCHEMA,
            value=r,
        )
        for n, r in enumerate(trail())
    ]


def test_a_batch_is_one_transaction_and_a_second_delivery_adds_nothing(tmp_path: Path) -> None:
    index = AuditIndexFile.for_writing(tmp_path / "i.sqlite3")
    indexer = AuditIndexer(index, batch_records=1000)
    written: list[int] = []
    add = index.add
    index.add = lambda batch: written.append(len(batch)) or add(batch)  # type: ignore[method-assign]
    batch = records()
    asyncio.run(indexer.write(batch))
    asyncio.run(indexer(batch[0]))
    assert written == [17, 1]
    assert index.size().records == 17
    indexer.close()
    index.close()


def test_a_record_that_is_no_audit_event_is_refused_and_never_folded(tmp_path: Path) -> None:
    index = AuditIndexFile.for_writing(tmp_path / "i.sqlite3")
    indexer = AuditIndexer(index, batch_records=1000)
    stranger = records()[0]
    stranger.schema = "io.mlconnector.slack.PostSlackMessage"
    assert not indexer.batching.foldable(stranger)
    assert indexer.batching.foldable(records()[0])
    with pytest.raises(NotAnAuditRecord, match=r"audit.v1\[0\]@0 is a io.mlconnector.slack"):
        asyncio.run(indexer(stranger))
    assert index.size().records == 0
    indexer.close()
    index.close()


def test_answering_from_the_index_loads_no_settings_and_no_kafka_client() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, mlc.audit; "
         "print(sorted(m for m in ('pydantic_settings', 'confluent_kafka') if m in sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert loaded.strip() == "[]"
