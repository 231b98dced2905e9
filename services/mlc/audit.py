"""`mlc audit ID`: the chain of state transitions of one record, across services.

Reads the audit topic from the start. Given an entity key it shows every change of that
entity; given an event id, command id or external id (a Slack ts) it shows the whole chain of
the change it belongs to: read from Visma, routed by a rule, sent to Slack. Each line ends
with the build of the service that wrote it (`build=`), absent on records older than the
field.
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
    """An entity key gives every version's chain; any other id gives the chain of the
    change(s) it belongs to, found through their event ids."""
    if any(e["entity_id"] == wanted for e in events):
        chain = [e for e in events if e["entity_id"] == wanted]
    else:
        direct = [e for e in events if any(e.get(f) == wanted for f in _ID_FIELDS)]
        event_ids = {e["event_id"] for e in direct if e.get("event_id")}
        command_ids = {e["command_id"] for e in direct if e.get("command_id")}
        chain = [
            e
            for e in events
            if e.get("event_id") in event_ids or e.get("command_id") in command_ids or e in direct
        ]
    return sorted(chain, key=lambda e: e["at"])


def print_audit(args: argparse.Namespace) -> int:
    chain = chain_for(read_audit(KafkaSettings()), args.id)
    if not chain:
        print(f"no audit events for {args.id}")
        return 1
    for e in chain:
        print(audit_line(e))
    return 0


def audit_line(e: dict[str, Any]) -> str:
    """One audit event as a timeline line: when, who, what, which ids, why, which build."""
    ids = " ".join(f"{f.split('_')[0]}={e[f]}" for f in _ID_FIELDS[1:] if e.get(f))
    build = f"  build={e['build_version']}" if e.get("build_version") else ""
    return (
        f"{e['at'].isoformat(timespec='milliseconds')}  {e['service']:14} {e['stage']:13} "
        f"{e['entity_id']}  {ids}  {e.get('detail') or ''}".rstrip()
        + build
    )
