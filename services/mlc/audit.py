"""`mlc audit ID`: the chain of state transitions of one record, across services.

Reads the audit topic from the start and keeps events whose entity, event, command or
external id matches; when the id is an external one (a Slack ts), the chain of the entity it
belongs to is shown whole.
"""

from __future__ import annotations

import argparse
from typing import Any

from chassis.audit import AUDIT_TOPIC
from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings

_ID_FIELDS = ("entity_id", "event_id", "command_id", "external_id")


def read_audit(settings: KafkaSettings) -> list[dict[str, Any]]:
    serde = AvroSerde(SchemaCatalog.load())
    return [
        serde.decode(value)[1]
        for _, value in iter_to_end(settings, AUDIT_TOPIC.name, client="mlc-audit")
    ]


def chain_for(events: list[dict[str, Any]], wanted: str) -> list[dict[str, Any]]:
    direct = [e for e in events if any(e.get(f) == wanted for f in _ID_FIELDS)]
    entities = {e["entity_id"] for e in direct}
    events_ids = {e["event_id"] for e in direct if e.get("event_id")}
    chain = [e for e in events if e["entity_id"] in entities or e.get("event_id") in events_ids]
    return sorted(chain, key=lambda e: e["at"])


def print_audit(args: argparse.Namespace) -> int:
    chain = chain_for(read_audit(KafkaSettings()), args.id)
    if not chain:
        print(f"no audit events for {args.id}")
        return 1
    for e in chain:
        ids = " ".join(f"{f.split('_')[0]}={e[f]}" for f in _ID_FIELDS[1:] if e.get(f))
        print(
            f"{e['at'].isoformat(timespec='milliseconds')}  {e['service']:14} {e['stage']:13} "
            f"{e['entity_id']}  {ids}  {e.get('detail') or ''}".rstrip()
        )
    return 0
