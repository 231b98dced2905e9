"""What the processor does with input records: decode, dedupe, enrich, route, send, remember.

Kept apart from faust so the ordering that makes it safe is plain code with fakes in tests:
every command is sent *before* the entity's processed version is remembered, so the version
never moves past a command that was not sent. In the worker both go into the batch's one
transaction (see `processor.app`), so a crash keeps both or neither. Poison values go to
the dead-letter topic once and are never retried.

A value whose schema id this processor cannot resolve (no Schema Registry, and an id not in
its catalogue; or the registry unreachable) is not poison: a newer producer is rolling out.
The handler holds it, decoding again with backoff, so nothing after it is committed; it is
routed once the processor is upgraded (or the registry answers). The error is logged once per
schema id and every attempt is counted (`mlc_processor_unknown_schema_waits_total`). If the
partition is taken away meanwhile (a rebalance, or the worker stopping: faust would wait for
the record in hand), `PartitionMovedError` ends the wait: the worker stops without committing
past the record, and whoever owns the partition next holds it instead.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import Counter
from pydantic import ValidationError

from chassis.audit import AuditTrail, Stage
from chassis.errors import RetryableError
from chassis.kafka.dlq import FailureClass, Origin, dead_letter_headers
from chassis.logcontext import correlated
from chassis.serde import AvroSerde, SerdeError
from events.commands import Command
from events.visma import VismaEntityChanged
from events.visma_entities import VISMA_EVENTS
from processor.routing import route_all
from processor.rules import RuleSet

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]
Send = Callable[[bytes, bytes, Headers], Awaitable[Awaitable[object]]]
"""Send key, value and headers to a topic; the returned awaitable completes once the broker
has acknowledged the record (so a batch can await all its deliveries together)."""

Remember = Callable[["Record", str, int], None]
"""Stores key -> processed version; the record says which input partition it came from."""

CORRELATION_HEADER = "correlation-id"
SCHEMA_WAITS = Counter(
    "mlc_processor_unknown_schema_waits_total",
    "Decode attempts of an input record whose writer schema is not known yet (held, not "
    "dead-lettered)",
    ["schema_id"],
)
_WIRE_HEADER = struct.Struct(">bI")


class Outcome(StrEnum):
    ROUTED = "routed"
    UNMATCHED = "unmatched"
    DUPLICATE = "duplicate"
    BEYOND_HORIZON = "beyond_horizon"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class Record:
    """The parts of a consumed Kafka record the processor needs."""

    key: bytes | None
    value: bytes
    headers: Mapping[str, bytes]
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None
    """When the record was written to its topic (its Kafka timestamp, epoch millis)."""


class PoisonRecordError(Exception):
    """The value is not a readable Visma event: a retry cannot help."""


class PartitionMovedError(RetryableError):
    """The partition of a held record was revoked while it waited: this worker must not
    commit past it nor route it; its new owner reads it again."""


@dataclass(frozen=True)
class SchemaBackoff:
    """How long a record whose schema is unknown waits between decode attempts."""

    first_seconds: float = 1.0
    max_seconds: float = 10.0

    def after(self, failures: int) -> float:
        return min(self.max_seconds, self.first_seconds * 2.0 ** (failures - 1))


SendCommand = Callable[[Command, bytes, Headers], Awaitable[Awaitable[object]]]
"""Send an encoded command to the topic of its kind; awaiting the result awaits the broker."""
Enrich = Callable[[VismaEntityChanged], Awaitable[Mapping[str, str]]]
"""Reference data for an event (vendor name and category, employee contact, ...)."""
Observe = Callable[
    ["Record", VismaEntityChanged, Mapping[str, str], RuleSet], Awaitable[list[Awaitable[object]]]
]
"""Scheduled work's look at each new version (reminders, digests); what it returns is
awaited with the batch's commands, before the dedupe table moves."""
_BY_SCHEMA = {model.SCHEMA: model for model in VISMA_EVENTS.values()}


async def _no_enrichment(event: VismaEntityChanged) -> Mapping[str, str]:
    return {}


def epoch_millis(event: VismaEntityChanged) -> int:
    return int(event.last_modified.timestamp() * 1000)


class InvoiceHandler:
    """Handles a batch of Visma events of any entity; `seen` maps entity key to the last
    processed epoch millis.

    All commands of a batch are sent first and their acknowledgements awaited together (one
    broker round trip per batch instead of one per event); only then does the table move.
    """

    def __init__(
        self,
        *,
        rules: RuleSet,
        serde: AvroSerde,
        seen: MutableMapping[str, int],
        send_command: SendCommand,
        send_dead_letter: Send,
        audit: AuditTrail,
        remember: Remember | None = None,
        enrich: Enrich = _no_enrichment,
        observe: Observe | None = None,
        beyond_horizon: Callable[[Record], bool] = lambda record: False,
        outlive: Remember | None = None,
        owned: Callable[[Record], bool] = lambda record: True,
        giving_up: Callable[[], None] = lambda: None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        schema_backoff: SchemaBackoff = SchemaBackoff(),
        group: str = "mlc-processor",
    ) -> None:
        self._group = group
        """The processor's group (its app id), named in its dead letters."""
        self._owned = owned
        self._giving_up = giving_up
        """Called before a held record is given up (the worker will stop): the watchdog."""
        """Whether the record's partition is still assigned to this worker."""
        self._sleep = sleep
        self._schema_backoff = schema_backoff
        self._unknown_ids_logged: set[int] = set()
        self._observe = observe
        self._beyond_horizon = beyond_horizon
        """Whether an event with no marker was written so long ago that its marker may have
        expired (`processor.processed`)."""
        self._outlive = outlive or (lambda record, key, version: None)
        """A duplicate of a processed version was read: the marker must outlive it too."""
        self._remember = remember or (lambda record, key, version: seen.__setitem__(key, version))
        self._enrich = enrich
        self.rules = rules
        """Replaced in place when the rules file is reloaded."""
        self._serde = serde
        self._seen = seen
        self._send_command = send_command
        self._send_dead_letter = send_dead_letter
        self._audit = audit

    async def handle(self, record: Record) -> Outcome:
        return (await self.handle_batch([record]))[0]

    async def handle_batch(self, records: Sequence[Record]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        accepted: dict[str, int] = {}
        accepted_from: dict[str, Record] = {}
        planned: list[tuple[VismaEntityChanged, list[Command], str | None]] = []
        audits: list[Awaitable[object]] = []
        scheduled: list[Awaitable[object]] = []
        for record in records:
            cid = _header(record.headers, CORRELATION_HEADER)
            with correlated(cid):
                try:
                    event = await self._decode_when_known(record)
                except PoisonRecordError as exc:
                    await self._dead_letter(record, str(exc))
                    outcomes.append(Outcome.DEAD_LETTERED)
                    continue
                version = epoch_millis(event)
                previous = accepted.get(event.key, self._seen.get(event.key))
                if previous is not None and version <= previous and event.key not in accepted:
                    self._outlive(record, event.key, previous)
                skipped = self._skipped(record, event, version, previous)
                if skipped is not None:
                    outcome, audit = skipped
                    audits.append(audit)
                    outcomes.append(outcome)
                    continue
                accepted[event.key] = version
                accepted_from[event.key] = record
                enrichment = await self._enrich(event)
                commands = route_all(event, self.rules, enrichment=enrichment)
                if self._observe is not None:
                    scheduled += await self._observe(record, event, enrichment, self.rules)
                planned.append((event, commands, cid))
                outcomes.append(Outcome.ROUTED if commands else Outcome.UNMATCHED)
        deliveries = []
        for _, commands, cid in planned:
            headers = [(CORRELATION_HEADER, cid.encode())] if cid else []
            for command in commands:
                deliveries.append(await self._send_command(command, self._encode(command), headers))
        await asyncio.gather(*deliveries, *scheduled)
        # Only now: every command is on the broker, so moving the table on cannot lose one.
        for key, version in accepted.items():
            self._remember(accepted_from[key], key, version)
        for event, commands, cid in planned:
            with correlated(cid):
                audits.extend(self._routed_audits(event, commands))
        await asyncio.gather(*audits)
        return outcomes

    def _skipped(
        self, record: Record, event: VismaEntityChanged, version: int, previous: int | None
    ) -> tuple[Outcome, Awaitable[object]] | None:
        """Why the event is not routed (and its audit record), or None if it is."""
        if previous is not None and version <= previous:
            detail = f"duplicate: last_modified {version} <= processed {previous}"
            outcome = Outcome.DUPLICATE
        elif previous is None and self._beyond_horizon(record):
            detail = (
                f"written to {record.topic} at {record.timestamp_ms}, longer ago than the "
                "processed-marker horizon: it may have been routed already, so it is not "
                "routed again"
            )
            outcome = Outcome.BEYOND_HORIZON
        else:
            return None
        audit = self._audit.record(
            Stage.SKIPPED, entity_id=event.key, event_id=event.event_id, detail=detail
        )
        return outcome, audit

    def _routed_audits(
        self, event: VismaEntityChanged, commands: list[Command]
    ) -> list[Awaitable[object]]:
        if not commands:
            return [
                self._audit.record(
                    Stage.SKIPPED,
                    entity_id=event.key,
                    event_id=event.event_id,
                    detail="no rule matched",
                )
            ]
        return [
            self._audit.record(
                Stage.ROUTED,
                entity_id=event.key,
                event_id=event.event_id,
                command_id=command.command_id,
                detail=f"rule {command.rule} -> {command.key}",
            )
            for command in commands
        ]

    def decode(self, value: bytes) -> VismaEntityChanged:
        """The event in `value`; `PoisonRecordError` if no retry can read it, a
        `RetryableError` (`UnknownSchemaError`, the registry unreachable) if a later one can."""
        try:
            name, data = self._serde.decode(value)
            model = _BY_SCHEMA.get(name)
            if model is None:
                raise PoisonRecordError(f"unexpected schema {name}")
            return model.from_record(data)
        except (SerdeError, ValidationError) as exc:
            raise PoisonRecordError(str(exc).splitlines()[0]) from exc

    async def _decode_when_known(self, record: Record) -> VismaEntityChanged:
        """Decodes, holding the record (and so its partition) while its writer schema cannot
        be resolved; never dead-letters it for that."""
        failures = 0
        while True:
            try:
                return self.decode(record.value)
            except RetryableError as exc:  # UnknownSchemaError, RegistryUnavailable
                failures += 1
                self._report_unreadable(record, exc)
            if not self._owned(record):
                self._giving_up()
                raise PartitionMovedError(
                    f"{record.topic}/{record.partition} was revoked while offset "
                    f"{record.offset} waited for its schema"
                )
            await self._sleep(self._schema_backoff.after(failures))

    def _report_unreadable(self, record: Record, exc: RetryableError) -> None:
        schema_id = _schema_id(record.value)
        SCHEMA_WAITS.labels(str(schema_id)).inc()
        if schema_id in self._unknown_ids_logged:
            return
        self._unknown_ids_logged.add(schema_id)
        log.error(
            "input record's schema is not known yet; its partition is held until it is "
            "(upgrade the processor or configure SCHEMA_REGISTRY_URL); not dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "schema_id": schema_id,
                "reason": str(exc),
            },
        )

    def _encode(self, command: Command) -> bytes:
        return self._serde.encode(command.SCHEMA, command.to_record())

    async def _dead_letter(self, record: Record, reason: str) -> None:
        log.warning(
            "dead-lettering poison record",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
            },
        )
        headers = dead_letter_headers(
            [(name, value) for name, value in record.headers.items() if value is not None],
            group=self._group,
            origin=Origin(record.topic, record.partition, record.offset),
            key=record.key.decode(errors="replace") if record.key is not None else None,
            attempts=1,
            failure=FailureClass.POISON,
            reason=reason,
        )
        await (await self._send_dead_letter(record.key or b"", record.value, headers))
        await self._audit.record(
            Stage.DEAD_LETTERED,
            entity_id=f"{record.topic}/{record.partition}/{record.offset}",
            detail=reason,
        )


def _schema_id(value: bytes) -> int:
    """The wire format's schema id (decode has already checked the header is there)."""
    return int(_WIRE_HEADER.unpack_from(value)[1])


def _header(headers: Mapping[str, bytes | None], name: str) -> str | None:
    value = headers.get(name)
    return value.decode(errors="replace") if value else None
