"""`mlc audit ID`: the chain of state transitions of one record, across services.

Given an entity key it shows every change of that entity; given any other id (an event id,
a command id, an external id such as a Slack ts or Twilio SID, or a part of a key such as a
Visma invoice number: `audit_index.lineage_ids`) it shows the whole chain of the change it
belongs to: read from Visma, routed by a rule, sent to Slack. Each line ends with the build
of the service that wrote it (`build=`), absent on records older than the field.

With an index (`--index` or MLC_AUDIT_INDEX_PATH, kept by `mlc run audit-index`) it answers
from the index file; without one it reads the whole audit topic, and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit_index.index_file import PATH_VARIABLE, AuditIndexFile, IndexUnavailable
from audit_index.lineage_ids import searchable_ids

if TYPE_CHECKING:
    from chassis.settings import KafkaSettings

# Answering from the index imports no more than it needs (no pydantic-settings, no Kafka
# client, no Avro): the command runs in a new process for each question, and it must answer within a
# second on a loaded machine. The scan of the topic imports the rest when it runs.

_ID_FIELDS = ("entity_id", "event_id", "command_id", "external_id")
EXIT_NOT_FOUND = 1
EXIT_NO_INDEX = 2

EXAMPLES = """\
examples:
  mlc audit 1772352930.000100                 a Slack message's ts: the change it came from
  mlc audit 000123                            a Visma invoice number: every change of it
  mlc audit t1/c1/supplierInvoice/Invoice:000123   an entity key: every version's chain
  mlc audit SM0123456789abcdef0123456789abcdef --json   a Twilio SID, as JSON records

  $ MLC_AUDIT_INDEX_PATH=/var/lib/mlc/audit-index.sqlite3 mlc audit 1772352930.000100
  2026-03-01T08:00:00.120+00:00  visma-poller   read          Invoice:000123  event=...
  2026-03-01T08:00:00.480+00:00  processor      routed        t1/c1/supplierInvoice/...
  2026-03-01T08:00:01.020+00:00  slack-sink     sent          t1/c1/supplierInvoice/...
      ... external=1772352930.000100  posted to #ap  build=0.1.0+g6d073fb8452b

Each line: when, service (where), stage (what happened), the entity, the other ids, the
detail (the result or the reason) and the build of the service that wrote it. --json prints
the same records as a list of objects with the audit record's field names.
Exit status: 0 found, 1 no record holds the id, 2 the index cannot be read.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = (
        "Print the audit chain of an id: every step of the change it belongs to, in every "
        "service, oldest first. Answers from the audit index when one is configured (--index "
        f"or {PATH_VARIABLE}: the file `mlc run audit-index` keeps), else reads all of audit.v1."
    )
    p.epilog = EXAMPLES
    p.add_argument(
        "id",
        help="entity key or Visma entity id or number, event id, command id, or external id "
        "(Slack ts, Twilio SID, monday item id, BILL id, Airbase id, Visma payment number)",
    )
    p.add_argument("--json", action="store_true", help="a JSON list of the audit records")
    p.add_argument("--index", type=Path, help=f"the audit index file (default: ${PATH_VARIABLE})")


def read_audit(settings: KafkaSettings) -> list[dict[str, Any]]:
    """Every record of the audit topic: the slow way, for when no index is configured."""
    from chassis.audit import AUDIT_TOPIC
    from chassis.kafka.state import iter_to_end
    from chassis.serde import AvroSerde, SchemaCatalog

    serde = AvroSerde(SchemaCatalog.load())
    return [
        serde.decode(value)[1]
        for _, value in iter_to_end(settings, AUDIT_TOPIC.name, client="mlc-audit")
    ]


def chain_for(events: list[dict[str, Any]], wanted: str) -> list[dict[str, Any]]:
    """An entity key gives every version's chain; any other id gives the chain of the
    change(s) it belongs to, found through their event ids and command ids."""
    if any(e["entity_id"] == wanted for e in events):
        chain = [e for e in events if e["entity_id"] == wanted]
    else:
        direct = [e for e in events if any(token == wanted for token, _ in searchable_ids(e))]
        event_ids = {e["event_id"] for e in direct if e.get("event_id")}
        command_ids = {e["command_id"] for e in direct if e.get("command_id")}
        chain = [
            e
            for e in events
            if e.get("event_id") in event_ids or e.get("command_id") in command_ids or e in direct
        ]
    return sorted(chain, key=lambda e: e["at"])


def indexed_chain(path: Path, wanted: str) -> list[dict[str, Any]]:
    """`wanted`'s chain from the index file at `path` (`IndexUnavailable` if there is none)."""
    index = AuditIndexFile.for_reading(path)
    try:
        return index.chain(wanted)
    finally:
        index.close()


def print_audit(args: argparse.Namespace) -> int:
    configured = args.index or os.environ.get(PATH_VARIABLE)
    if configured:
        try:
            chain = indexed_chain(Path(configured), args.id)
        except IndexUnavailable as exc:
            print(f"mlc audit: {exc} (--index or {PATH_VARIABLE})", file=sys.stderr)
            return EXIT_NO_INDEX
    else:
        from chassis.audit import AUDIT_TOPIC
        from chassis.settings import KafkaSettings

        print(
            f"mlc audit: no audit index configured (--index or {PATH_VARIABLE}); "
            f"reading all of {AUDIT_TOPIC.name}",
            file=sys.stderr,
        )
        chain = chain_for(read_audit(KafkaSettings()), args.id)
    if not chain:
        print(f"mlc audit: no audit record holds {args.id}", file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.json:
        print(json.dumps([audit_json(e) for e in chain], indent=2))
    else:
        for e in chain:
            print(audit_line(e))
    return 0


def audit_json(e: dict[str, Any]) -> dict[str, Any]:
    """One audit record with the schema's field names; `at` as ISO 8601 with milliseconds."""
    return {**e, "at": e["at"].isoformat(timespec="milliseconds")}


def audit_line(e: dict[str, Any]) -> str:
    """One audit event as a timeline line: when, who, what, which ids, why, which build."""
    ids = " ".join(f"{f.split('_')[0]}={e[f]}" for f in _ID_FIELDS[1:] if e.get(f))
    build = f"  build={e['build_version']}" if e.get("build_version") else ""
    return (
        f"{e['at'].isoformat(timespec='milliseconds')}  {e['service']:14} {e['stage']:13} "
        f"{e['entity_id']}  {ids}  {e.get('detail') or ''}".rstrip()
        + build
    )
