"""What the processor does with one input record: decode, dedupe, route, send, remember.

Kept apart from faust so the ordering that makes it safe is plain code with fakes in tests:
every command is durably delivered *before* the dedupe table moves forward, so a crash can
repeat a command (the sink's ledger drops it by id) but can never lose one. Poison values go
to the dead-letter topic once and are never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from enum import StrEnum

from pydantic import ValidationError

from chassis.audit import AuditTrail, Stage
from chassis.logcontext import correlated
from chassis.serde import AvroSerde, SerdeError
from events import PostSlackMessage, SupplierInvoiceChanged
from processor.routing import route
from processor.rules import RuleSet

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]
Send = Callable[[bytes, bytes, Headers], Awaitable[object]]
"""Send key, value and headers to a topic and return only once the broker has it."""

CORRELATION_HEADER = "correlation-id"


class Outcome(StrEnum):
    ROUTED = "routed"
    UNMATCHED = "unmatched"
    DUPLICATE = "duplicate"
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


class PoisonRecordError(Exception):
    """The value is not a readable SupplierInvoiceChanged: a retry cannot help."""


def epoch_millis(event: SupplierInvoiceChanged) -> int:
    return int(event.last_modified.timestamp() * 1000)


class InvoiceHandler:
    """Handles one record at a time; `seen` maps entity key to last processed epoch millis."""

    def __init__(
        self,
        *,
        rules: RuleSet,
        serde: AvroSerde,
        seen: MutableMapping[str, int],
        send_command: Send,
        send_dead_letter: Send,
        audit: AuditTrail,
    ) -> None:
        self._rules = rules
        self._serde = serde
        self._seen = seen
        self._send_command = send_command
        self._send_dead_letter = send_dead_letter
        self._audit = audit

    async def handle(self, record: Record) -> Outcome:
        cid = _header(record.headers, CORRELATION_HEADER)
        with correlated(cid):
            try:
                event = self.decode(record.value)
            except PoisonRecordError as exc:
                await self._dead_letter(record, str(exc))
                return Outcome.DEAD_LETTERED
            return await self._process(event, cid)

    def decode(self, value: bytes) -> SupplierInvoiceChanged:
        try:
            name, data = self._serde.decode(value)
            if name != SupplierInvoiceChanged.SCHEMA:
                raise PoisonRecordError(f"unexpected schema {name}")
            return SupplierInvoiceChanged.from_record(data)
        except (SerdeError, ValidationError) as exc:
            raise PoisonRecordError(str(exc).splitlines()[0]) from exc

    async def _process(self, event: SupplierInvoiceChanged, cid: str | None) -> Outcome:
        version = epoch_millis(event)
        previous = self._seen.get(event.key)
        if previous is not None and version <= previous:
            await self._audit.record(
                Stage.SKIPPED,
                entity_id=event.entity_id,
                event_id=event.event_id,
                detail=f"duplicate: last_modified {version} <= processed {previous}",
            )
            return Outcome.DUPLICATE
        commands = route(event, self._rules)
        headers = [(CORRELATION_HEADER, cid.encode())] if cid else []
        for command in commands:
            await self._send_command(command.key.encode(), self._encode(command), headers)
        # Only now: every command is on the broker, so moving the table on cannot lose one.
        self._seen[event.key] = version
        for command in commands:
            await self._audit.record(
                Stage.ROUTED,
                entity_id=event.entity_id,
                event_id=event.event_id,
                command_id=command.command_id,
                detail=f"rule {command.rule} -> {command.key}",
            )
        if not commands:
            await self._audit.record(
                Stage.SKIPPED,
                entity_id=event.entity_id,
                event_id=event.event_id,
                detail="no rule matched",
            )
            return Outcome.UNMATCHED
        return Outcome.ROUTED

    def _encode(self, command: PostSlackMessage) -> bytes:
        return self._serde.encode(PostSlackMessage.SCHEMA, command.to_record())

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
        headers = [(name, value) for name, value in record.headers.items() if value is not None]
        headers += [
            ("dlq-reason", reason.encode()),
            ("dlq-topic", record.topic.encode()),
            ("dlq-partition", str(record.partition).encode()),
            ("dlq-offset", str(record.offset).encode()),
        ]
        await self._send_dead_letter(record.key or b"", record.value, headers)
        await self._audit.record(
            Stage.DEAD_LETTERED,
            entity_id=f"{record.topic}/{record.partition}/{record.offset}",
            detail=reason,
        )


def _header(headers: Mapping[str, bytes | None], name: str) -> str | None:
    value = headers.get(name)
    return value.decode(errors="replace") if value else None
