"""What `mlc rules preview` reads back from Kafka: a window of Visma history and what the
running rules did with it.

Everything is read, nothing is written (`chassis.kafka.window`): the Visma events of the
window from the processor's input topics, the reference data the processor enriches them
with (its compacted reference topics, whole, as they are now), the commands of the window on
the sink topics, and the audit trail of the window: which command the processor routed from
which event (`routed`), which commands a sink reported sent (`sent`), and which events the
processor skipped for a reason other than the rules (an already processed version). Topic
names come from the processor's own settings (`MLC_PROCESSOR_TOPIC_PREFIX`,
`MLC_PROCESSOR_AUDIT_TOPIC`), so the preview reads what the processor of the same deployment
reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import ValidationError

from chassis.audit import AUDIT_SCHEMA, Stage
from chassis.kafka.window import read_since
from chassis.serde import AvroSerde, SerdeError, UnknownSchemaError
from events._avro import AvroModel
from events.command_topics import COMMAND_TOPICS
from events.commands import Command
from events.visma import VismaEntityChanged
from events.visma_entities import VISMA_EVENTS
from processor.config import ProcessorSettings

CLIENT = "mlc-rules-preview"
PROCESSOR = "processor"
"""The service name the processor's audit records carry."""
_EVENTS_BY_SCHEMA = {model.SCHEMA: model for model in VISMA_EVENTS.values()}
_COMMANDS_BY_SCHEMA: dict[str, type[AvroModel]] = {
    kind.SCHEMA: kind for kind in COMMAND_TOPICS if issubclass(kind, AvroModel)
}
_UNREADABLE = (SerdeError, UnknownSchemaError, ValidationError)
NOT_JUDGED = "no rule matched"
"""The processor's skip that *is* a verdict of the rules; its other skips are not."""


@dataclass(frozen=True)
class Routed:
    """One command the processor routed from an event (its audit record)."""

    event_id: str
    command_id: str
    detail: str
    """`rule NAME -> KEY`: what names the target when the command itself is gone."""


@dataclass
class History:
    """The window's events and what the running rules made of them."""

    events: list[VismaEntityChanged] = field(default_factory=list)
    unreadable: int = 0
    """Input records that are not a Visma event this build can read."""
    reference: dict[str, dict[str, Any]] = field(default_factory=dict)
    routed: list[Routed] = field(default_factory=list)
    sent: set[str] = field(default_factory=set)
    """Command ids a sink audited as sent."""
    skipped_events: set[str] = field(default_factory=set)
    """Event ids the processor skipped as already processed (not a verdict of the rules)."""
    commands: dict[str, Command] = field(default_factory=dict)
    """The window's commands on the sink topics, by command id."""


class ReferenceSnapshot:
    """The reference records as read once, behind the processor's `ReferenceLookup`:
    nothing arrives later, so a wait is a plain look-up."""

    def __init__(self, records: Mapping[str, dict[str, Any]]) -> None:
        self._records = records

    def get(self, key: str) -> dict[str, Any] | None:
        return self._records.get(key)

    def wait_for(self, key: str, timeout: float) -> dict[str, Any] | None:
        return self._records.get(key)


def read_history(settings: ProcessorSettings, *, since_ms: int, serde: AvroSerde) -> History:
    """Reads the window `since_ms` (epoch millis) to now of every topic the preview needs."""
    kafka = settings.kafka
    history = History()
    for record in read_since(kafka, settings.input_topics(), since_ms=since_ms, client=CLIENT):
        event = None if record.value is None else decode_event(serde, record.value)
        if event is None:
            history.unreadable += 1
        else:
            history.events.append(event)
    # The whole compacted topics, as the processor's view holds them: newest value per key.
    for record in read_since(kafka, settings.reference_topics(), since_ms=0, client=CLIENT):
        if record.key is None:
            continue
        value = None if record.value is None else _decode(serde, record.value)
        if value is None:
            history.reference.pop(record.key, None)
        else:
            history.reference[record.key] = value
    command_topics = dict.fromkeys(settings.command_topic(kind) for kind in COMMAND_TOPICS)
    for record in read_since(kafka, command_topics, since_ms=since_ms, client=CLIENT):
        command = None if record.value is None else decode_command(serde, record.value)
        if command is not None:
            history.commands[command.command_id] = command
    # Audit records are keyed by entity: only those of the window's entities are decoded.
    entities = {event.key for event in history.events}
    audit = read_since(kafka, [settings.audit_topic], since_ms=since_ms, client=CLIENT)
    decoded = (
        _decode_named(serde, record.value)
        for record in audit
        if record.value and record.key in entities
    )
    take_audit(history, (found for found in decoded if found is not None))
    return history


def take_audit(history: History, records: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Keeps the audit records the preview joins on: the processor's routings and skips,
    and every sink's sends."""
    for name, record in records:
        if name != AUDIT_SCHEMA:
            continue
        stage, service = record["stage"], record["service"]
        if stage == Stage.SENT and record.get("command_id"):
            history.sent.add(record["command_id"])
        elif service != PROCESSOR or not record.get("event_id"):
            continue
        elif stage == Stage.ROUTED and record.get("command_id"):
            history.routed.append(
                Routed(record["event_id"], record["command_id"], record.get("detail") or "")
            )
        elif stage == Stage.SKIPPED and record.get("detail") != NOT_JUDGED:
            history.skipped_events.add(record["event_id"])


def decode_event(serde: AvroSerde, value: bytes) -> VismaEntityChanged | None:
    """The Visma event in `value`, or None for what this build cannot read as one."""
    found = _decode_named(serde, value)
    model = None if found is None else _EVENTS_BY_SCHEMA.get(found[0])
    if found is None or model is None:
        return None
    try:
        return model.from_record(found[1])
    except ValidationError:
        return None


def decode_command(serde: AvroSerde, value: bytes) -> Command | None:
    found = _decode_named(serde, value)
    kind = None if found is None else _COMMANDS_BY_SCHEMA.get(found[0])
    if found is None or kind is None:
        return None
    try:
        command = cast("Command", kind.from_record(found[1]))
    except ValidationError:
        return None
    return command


def _decode(serde: AvroSerde, value: bytes) -> dict[str, Any] | None:
    found = _decode_named(serde, value)
    return None if found is None else found[1]


def _decode_named(serde: AvroSerde, value: bytes) -> tuple[str, dict[str, Any]] | None:
    try:
        return serde.decode(value)
    except _UNREADABLE:
        return None
