"""Visma records the poller cannot turn into events: kept in its DLQ, never in its way.

A record that does not parse, lacks its id or change time, or does not fit its event schema
would stop its company's poll on every attempt, and with it every company after a restart.
Instead it goes to the poller's DLQ (`dlq.visma-poller.v1`) as Visma sent it, with the
reason, in the same transaction as the page's events and cursor, and the poll goes on.

Each rejected record is remembered in the cursor like a published version, so the overlap
of the next poll does not dead-letter it again; a later change of the record (a new
`lastModifiedDateTime` or `timeStamp`) is a new version and is judged afresh.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import Counter

from chassis.kafka.dlq import FailureClass, dead_letter_headers
from chassis.topics import dead_letter_topic
from visma_poller.cursor import version_of

DLQ_GROUP = "visma-poller"
DLQ_TOPIC = dead_letter_topic(DLQ_GROUP)
COMPANY = "visma-company"
ENTITY = "visma-entity"

REJECTED = Counter(
    "mlc_visma_records_rejected_total",
    "Visma records dead-lettered by the poller (unparseable, incomplete, not encodable)",
    ["company", "entity"],
)


@dataclass(frozen=True)
class RejectedVersion:
    """One version of a record that cannot be published, ready for the DLQ."""

    version: str
    modified: datetime
    key: str
    raw: str
    reason: str

    def headers(self, *, company_id: str, entity: str) -> list[tuple[str, str | bytes | None]]:
        """The one dead-letter header set (no source position: the record never reached a
        topic, so it is read, not redriven) and which company and entity it is of."""
        own = [(COMPANY, company_id.encode()), (ENTITY, entity.encode())]
        headers: list[tuple[str, str | bytes | None]] = [
            *dead_letter_headers(
                own, group=DLQ_GROUP, origin=None, key=self.key, attempts=1,
                failure=FailureClass.POISON, reason=self.reason,
            )
        ]  # fmt: skip
        return headers


def rejected_version(
    raw: str, reason: str, *, key_prefix: str, read_at: datetime
) -> RejectedVersion:
    """The version of a rejected record: its content (paging metadata aside) and change time.

    The change time comes from the record when it is readable, else `read_at` (the server
    time of the poll that read it), which keeps it in the cursor for the overlap.
    """
    fields: object = None
    try:
        fields = json.loads(raw)
    except ValueError:
        fields = None
    if isinstance(fields, dict):
        fields = {k: v for k, v in fields.items() if k != "metadata"}
    content = json.dumps(fields, sort_keys=True) if fields is not None else raw
    digest = hashlib.sha256(content.encode()).hexdigest()[:20]
    modified = _modified(fields) or read_at
    return RejectedVersion(
        version=version_of(f"rejected:{digest}", modified),
        modified=modified,
        key=f"{key_prefix}/rejected:{digest}",
        raw=raw,
        reason=reason,
    )


def _modified(fields: object) -> datetime | None:
    text = fields.get("lastModifiedDateTime") if isinstance(fields, dict) else None
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
