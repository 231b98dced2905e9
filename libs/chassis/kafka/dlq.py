"""Dead-lettering: a record that cannot succeed goes to its group's DLQ, byte for byte.

The original key, value and headers are kept, and one header set, built here and nowhere
else (`dead_letter_headers`), says where it came from and why: group, topic, partition,
offset, key, attempts, the failure class and the reason, and when. The chassis runner, the
faust processor and every service that dead-letters use it, so `mlc dlq` reads one shape and
can put a record back into exactly the group that failed (`redrive.<group>.v1`).

A record dead-lettered before a header existed reads as "unknown" for it (`DeadLetterHeaders`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from chassis.errors import CredentialRefused, KeptConflicting, PermanentError
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Origin, Record
from chassis.topics import dead_letter_topic

__all__ = [
    "DeadLetterHeaders",
    "DeadLetters",
    "FailureClass",
    "Origin",
    "PoisonRecord",
    "dead_letter_headers",
    "failure_class",
]

PREFIX = "dlq-"
REASON = "dlq-reason"
SOURCE_TOPIC = "dlq-topic"
SOURCE_PARTITION = "dlq-partition"
SOURCE_OFFSET = "dlq-offset"
SOURCE_KEY = "dlq-key"
GROUP = "dlq-group"
ATTEMPTS = "dlq-attempts"
CLASS = "dlq-class"
AT = "dlq-at"
REDRIVE_OF = "redrive-of"
"""On a redriven record: the dead letter's id (`<group>:<partition>:<offset>`) it came from
(not a `dlq-` header: it stays on the record if the record is dead-lettered again)."""

REASON_LIMIT = 1000
UNKNOWN = "unknown"


class FailureClass(StrEnum):
    PERMANENT = "permanent"
    """The system said no (a 4xx, a refused value): the same call cannot succeed."""
    TRANSIENT_EXHAUSTED = "transient-exhausted"
    """Retryable failures until the record's retry budget was spent."""
    POISON = "poison"
    """The value cannot be read at all (not our wire format, an unknown schema)."""
    AUTH = "auth"
    """The credential was refused or is missing: fix it, then redrive."""
    CONFLICT = "conflict"
    """The target kept changing under every attempt (ETag/412) until the budget was spent."""
    UNKNOWN = UNKNOWN
    """Dead-lettered before the class was recorded."""


class PoisonRecord(PermanentError):
    """The record's value cannot be decoded: no retry can help."""


def failure_class(exc: BaseException, *, budget_spent: bool = False) -> FailureClass:
    """The class of the failure that dead-letters a record; `budget_spent` when the runner
    gives up on a retryable failure (or a bug) because its retry budget is spent."""
    if isinstance(exc, PoisonRecord):
        return FailureClass.POISON
    if isinstance(exc, CredentialRefused):
        return FailureClass.AUTH
    if isinstance(exc, KeptConflicting):
        return FailureClass.CONFLICT
    if isinstance(exc, PermanentError) and not budget_spent:
        return FailureClass.PERMANENT
    return FailureClass.TRANSIENT_EXHAUSTED if budget_spent else FailureClass.PERMANENT


def dead_letter_headers(
    headers: Iterable[tuple[str, bytes]],
    *,
    group: str,
    origin: Origin | None,
    key: str | None,
    attempts: int,
    failure: FailureClass,
    reason: str,
    at: datetime | None = None,
) -> list[tuple[str, bytes]]:
    """The record's own headers (earlier dead-letter headers dropped: a redriven record that
    fails again says why this time) followed by the one dead-letter header set. `origin` None:
    the record was never on a topic (a poller's unreadable source record); it cannot be
    redriven, only read."""
    kept = [(name, value) for name, value in headers if not name.startswith(PREFIX)]
    position = (
        []
        if origin is None
        else [
            (SOURCE_TOPIC, origin.topic.encode()),
            (SOURCE_PARTITION, str(origin.partition).encode()),
            (SOURCE_OFFSET, str(origin.offset).encode()),
        ]
    )
    return [
        *kept,
        (GROUP, group.encode()),
        *position,
        (SOURCE_KEY, (key or "").encode()),
        (ATTEMPTS, str(attempts).encode()),
        (CLASS, failure.value.encode()),
        (REASON, reason[:REASON_LIMIT].encode()),
        (AT, (at or datetime.now(UTC)).isoformat().encode()),
    ]


@dataclass(frozen=True)
class DeadLetterHeaders:
    """The dead-letter header set as read back; a header missing on an older record reads as
    "unknown" (or None for numbers), never as an error."""

    group: str
    topic: str
    partition: int | None
    offset: int | None
    key: str
    attempts: int | None
    failure: FailureClass
    reason: str
    at: str
    redrive_of: str | None
    """Set when the dead letter is itself a redriven record that failed again."""

    @classmethod
    def read(cls, headers: Sequence[tuple[str, bytes | None]]) -> DeadLetterHeaders:
        named = {name: (value or b"").decode(errors="replace") for name, value in headers}
        try:
            failure = FailureClass(named.get(CLASS, UNKNOWN))
        except ValueError:
            failure = FailureClass.UNKNOWN
        return cls(
            group=named.get(GROUP, UNKNOWN),
            topic=named.get(SOURCE_TOPIC, UNKNOWN),
            partition=_number(named.get(SOURCE_PARTITION)),
            offset=_number(named.get(SOURCE_OFFSET)),
            key=named.get(SOURCE_KEY, UNKNOWN),
            attempts=_number(named.get(ATTEMPTS)),
            failure=failure,
            reason=named.get(REASON, UNKNOWN),
            at=named.get(AT, UNKNOWN),
            redrive_of=named.get(REDRIVE_OF),
        )


def _number(text: str | None) -> int | None:
    if text is None or not text.lstrip("-").isdigit():
        return None
    return int(text)


def origin_of(record: Record) -> Origin:
    """Where a record first came from: a redriven record keeps its original position."""
    if record.origin is not None:
        return record.origin
    return Origin(record.topic, record.partition, record.offset)


def redriven_origin(headers: Sequence[tuple[str, bytes]]) -> Origin | None:
    """The original position a redriven record carries in its dead-letter headers, if whole."""
    read = DeadLetterHeaders.read(headers)
    if read.topic == UNKNOWN or read.partition is None or read.offset is None:
        return None
    return Origin(read.topic, read.partition, read.offset)


class DeadLetters:
    def __init__(self, producer: EventProducer, group: str) -> None:
        self._producer = producer
        self.producer = producer
        """Also writes the group's held keys (`chassis.kafka.held_keys`): one producer a runner."""
        self._group = group
        self.topic = dead_letter_topic(group).name

    def send(self, record: Record, *, failure: FailureClass, reason: str) -> None:
        """Writes the record to the DLQ and waits for Kafka to confirm it."""
        headers = dead_letter_headers(
            record.headers,
            group=self._group,
            origin=origin_of(record),
            key=record.key,
            attempts=record.attempts,
            failure=failure,
            reason=reason,
        )
        self._producer.send_confirmed(self.topic, key=record.key, value=record.raw, headers=headers)
