"""`mlc dlq redrive`: put dead letters back for exactly the group that failed, once.

Each chosen dead letter is written to `redrive.<group>.v1`, which only that group's chassis
runner reads (no other group sees it, so no consumer filters anything), with its original
headers and its dead-letter headers (the runner handles it as the record at its original
position), plus `redrive-of: <id>`. In the same Kafka transaction a mark keyed by the id goes
to `state.dlq-redriven.v1`: both are written or neither, so a dead letter is redriven at most
once and a second redrive of it says when and by whom it already was.

Exclusive per group: the transactional id is the group's, and the marks are read only after
`init_transactions` has fenced any earlier redrive of the same group still running.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka.admin import AdminClient

from chassis.kafka.dlq import REDRIVE_OF, FailureClass
from chassis.kafka.producer import TransactionalProducer
from chassis.serde import AvroSerde, SerdeError
from chassis.settings import KafkaSettings
from chassis.topics import DLQ_REDRIVEN, ensure_topics, redrive_topic
from mlc.dlq_edit import edited_value
from mlc.dlq_reader import (
    CLIENT,
    DeadLetter,
    DeadLetterId,
    DlqQueryError,
    DlqReader,
    RedriveMark,
    read_marks,
)

UNREDRIVABLE_GROUPS = ("mlc-processor",)
"""Groups no chassis runner reads a redrive topic for (the faust processor; see
docs/operations.md): their dead letters are shown, never redriven."""


@dataclass(frozen=True)
class RedriveRequest:
    group: str
    ids: tuple[DeadLetterId, ...] = ()
    failure: FailureClass | None = None
    since: datetime | None = None
    edit: Path | None = None
    schema: str | None = None
    """With `edit`: the schema to encode it with, for a dead letter that cannot be decoded."""
    by: str = ""


@dataclass(frozen=True)
class RedriveReport:
    redriven: list[DeadLetterId]
    already: list[tuple[DeadLetterId, RedriveMark]]
    not_redrivable: list[tuple[DeadLetterId, str]]


def operator() -> str:
    """Who redrives, for the mark: the OS user at this host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def check_request(request: RedriveRequest, *, processor_group: str | None = None) -> None:
    unredrivable = {*UNREDRIVABLE_GROUPS, *([processor_group] if processor_group else [])}
    if request.group in unredrivable:
        raise DlqQueryError(
            f"group {request.group!r} is the faust processor: no runner of it reads a redrive "
            "topic; its dead letters are values it cannot read (see docs/operations.md)"
        )
    for wanted in request.ids:
        if wanted.group != request.group:
            raise DlqQueryError(f"dead letter {wanted} is not of group {request.group!r}")
    if request.edit is not None and len(request.ids) != 1:
        raise DlqQueryError("--edit takes exactly one --id: the value is that record's")
    if request.schema is not None and request.edit is None:
        raise DlqQueryError("--schema names the schema of an --edit value: give --edit FILE")


def redrive(settings: KafkaSettings, request: RedriveRequest, *, serde: AvroSerde) -> RedriveReport:
    """Redrives the request's dead letters that are not marked yet; returns what it did."""
    reader = DlqReader(settings)
    try:
        reader.check_group(request.group)
        check_request(request, processor_group=processor_group())
        ensure_topics(
            AdminClient(settings.client_config(CLIENT)),
            [DLQ_REDRIVEN, redrive_topic(request.group)],
            replication_factor=settings.replication_factor,
        )
        producer = TransactionalProducer(
            settings, client=CLIENT, transactional_id=f"{CLIENT}-redrive-{request.group}"
        )
        try:
            marks = read_marks(settings)  # after init_transactions: no earlier redrive still runs
            chosen = _chosen(reader, request)
            report = RedriveReport([], [], [])
            todo: list[tuple[DeadLetter, bytes]] = []
            for letter in chosen:
                mark = marks.get(str(letter.id))
                if mark is not None:
                    report.already.append((letter.id, mark))
                elif letter.about.topic == "unknown":
                    report.not_redrivable.append(
                        (letter.id, "it names no source topic: it never was a record of a group")
                    )
                else:
                    todo.append((letter, _value(letter, request, serde)))
            _publish(producer, request, todo)
            report.redriven.extend(letter.id for letter, _ in todo)
            return report
        finally:
            producer.close()
    finally:
        reader.close()


def processor_group() -> str:
    """The processor's group as this environment configures it (MLC_PROCESSOR_APP_ID)."""
    from processor.config import ProcessorSettings

    return ProcessorSettings().app_id


def _chosen(reader: DlqReader, request: RedriveRequest) -> list[DeadLetter]:
    if request.ids:
        letters: Iterable[DeadLetter] = [reader.one(wanted) for wanted in request.ids]
    else:
        letters = reader.window(request.group, since=request.since)
    return [
        letter
        for letter in letters
        if request.failure is None or letter.about.failure is request.failure
    ]


def _value(letter: DeadLetter, request: RedriveRequest, serde: AvroSerde) -> bytes:
    """The value to redrive: the dead letter's own, or the --edit file's in the record's
    schema (or --schema's, when the dead letter cannot be decoded)."""
    if request.edit is None:
        return letter.value
    try:
        schema, _ = serde.decode(letter.value)
    except SerdeError as exc:
        if request.schema is None:
            raise DlqQueryError(
                f"dead letter {letter.id} cannot be decoded ({exc}): name the schema of the "
                "corrected value with --schema (e.g. io.mlconnector.sink.PostSlackMessage)"
            ) from exc
        schema = request.schema
    if request.schema is not None and request.schema != schema:
        raise DlqQueryError(
            f"dead letter {letter.id} is a {schema}, not a {request.schema}: a redrive keeps "
            "the record's schema"
        )
    try:
        serde.catalog.latest(schema)
    except SerdeError as exc:
        raise DlqQueryError(f"--schema {schema}: the schema catalogue has no such schema") from exc
    return edited_value(serde, schema, request.edit)


def _publish(
    producer: TransactionalProducer,
    request: RedriveRequest,
    todo: Sequence[tuple[DeadLetter, bytes]],
) -> None:
    """Every record and its mark in one transaction: all redriven and marked, or none."""
    if not todo:
        return
    target = redrive_topic(request.group).name
    mark = RedriveMark(at=datetime.now(UTC).isoformat(timespec="seconds"), by=request.by).encode()
    with producer.transaction() as writing:
        for letter, value in todo:
            headers: list[tuple[str, str | bytes | None]] = [
                (k, v) for k, v in letter.headers if k != REDRIVE_OF
            ]
            headers.append((REDRIVE_OF, str(letter.id).encode()))
            writing.produce(target, key=letter.key, value=value, headers=headers)
            writing.produce(DLQ_REDRIVEN.name, key=str(letter.id), value=mark)
            writing.poll(0)
