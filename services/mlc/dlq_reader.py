"""Reading dead letters for `mlc dlq`: by id straight from its offset, or a window of them.

A dead letter's id is its own position, `<group>:<partition>:<offset>` of `dlq.<group>.v1`,
so `show` and `redrive --id` assign that one partition at that one offset and read a single
record: the DLQ is never read from the start to find one. `list --since T` starts each
partition at the first offset written at or after T (`offsets_for_times`). Whether a dead
letter was redriven is the newest value of its id in `state.dlq-redriven.v1`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, KafkaException, Message, TopicPartition

from chassis.errors import PermanentError
from chassis.kafka.dlq import DeadLetterHeaders
from chassis.kafka.state import StateLoadError, iter_to_end, watermarks
from chassis.settings import KafkaSettings
from chassis.topics import DLQ_REDRIVEN, dead_letter_topic
from mlc import replay_times

CLIENT = "mlc-dlq"
READ_SECONDS = 60.0
SHOWN_GROUPS = 8
"""Groups an unknown-group error names (a shared cluster may hold hundreds)."""
_DLQ_NAME = re.compile(r"^dlq\.(?P<group>.+)\.v1$")


class DlqQueryError(PermanentError):
    """An unknown group, a malformed or unknown id, an unknown class or a bad time: one line
    for the operator, exit status 2."""


@dataclass(frozen=True)
class DeadLetterId:
    group: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.group}:{self.partition}:{self.offset}"

    @classmethod
    def parse(cls, text: str) -> DeadLetterId:
        group, _, rest = text.rpartition(":")
        group, _, partition = group.rpartition(":")
        if not group or not partition.isdigit() or not rest.isdigit():
            raise DlqQueryError(
                f"malformed dead-letter id {text!r}: expected <group>:<partition>:<offset>, "
                "as `mlc dlq list` prints it"
            )
        return cls(group, int(partition), int(rest))


@dataclass(frozen=True)
class RedriveMark:
    at: str
    by: str

    @classmethod
    def parse(cls, value: bytes) -> RedriveMark:
        fields = json.loads(value)
        return cls(at=str(fields.get("at", "?")), by=str(fields.get("by", "?")))

    def encode(self) -> bytes:
        return json.dumps({"at": self.at, "by": self.by}).encode()


@dataclass(frozen=True)
class DeadLetter:
    id: DeadLetterId
    key: str | None
    value: bytes
    headers: list[tuple[str, bytes]]
    written_ms: int | None
    about: DeadLetterHeaders


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO time (`2026-12-03T06:00`, UTC unless it says) or an age (`30m`, `12h`, `7d`),
    read as `mlc replay` reads its times."""
    try:
        return replay_times.parse_time(text, now=now or datetime.now(UTC), option="--since")
    except replay_times.ReplayUsageError as exc:
        raise DlqQueryError(str(exc)) from None


def _group_of(topic: str) -> str | None:
    match = _DLQ_NAME.match(topic)
    return match["group"] if match else None


class DlqReader:
    """One consumer with no group (it assigns partitions, never commits) over every DLQ."""

    def __init__(self, settings: KafkaSettings, *, timeout: float = 10.0) -> None:
        self._settings = settings
        self._timeout = timeout
        self._consumer = Consumer(
            settings.client_config(CLIENT)
            | {
                "group.id": f"{CLIENT}-reader",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )

    def close(self) -> None:
        self._consumer.close()

    def groups(self) -> dict[str, int]:
        """Every group with a DLQ topic on the broker, with its partition count."""
        try:
            topics = self._consumer.list_topics(timeout=self._timeout).topics
        except KafkaException as exc:
            raise StateLoadError(f"the broker did not answer: {exc.args[0]}") from exc
        return {
            group: len(meta.partitions)
            for name, meta in topics.items()
            if (group := _group_of(name)) is not None
        }

    def check_group(self, group: str) -> int:
        """The partitions of `group`'s DLQ; DlqQueryError if the broker has no such DLQ."""
        known = self.groups()
        if group not in known:
            names = sorted(known)
            shown = ", ".join(names[:SHOWN_GROUPS]) or "none"
            more = f" and {len(names) - SHOWN_GROUPS} more" if len(names) > SHOWN_GROUPS else ""
            raise DlqQueryError(
                f"unknown group {group!r}: no dead-letter topic {dead_letter_topic(group).name} "
                f"(groups with one: {shown}{more}; `mlc dlq list` lists them)"
            )
        return known[group]

    def one(self, wanted: DeadLetterId) -> DeadLetter:
        """The dead letter at its id's offset, read by itself."""
        partitions = self.check_group(wanted.group)
        topic = dead_letter_topic(wanted.group).name
        if wanted.partition >= partitions:
            raise DlqQueryError(
                f"unknown dead letter {wanted}: {topic} has {partitions} partition(s)"
            )
        low, high = watermarks(self._consumer, TopicPartition(topic, wanted.partition))
        read = []
        if low <= wanted.offset < high:
            read = list(self._read(topic, {wanted.partition: (wanted.offset, wanted.offset + 1)}))
        found = next((letter for letter in read if letter.id == wanted), None)
        if found is None:
            held = f"holds offsets {low}..{high - 1}" if high > low else "is empty"
            raise DlqQueryError(f"unknown dead letter {wanted}: {topic}[{wanted.partition}] {held}")
        return found

    def window(self, group: str, *, since: datetime | None) -> Iterator[DeadLetter]:
        """The group's dead letters written at or after `since` (all retained ones if None)."""
        partitions = self.check_group(group)
        topic = dead_letter_topic(group).name
        ranges: dict[int, tuple[int, int]] = {}
        starts = self._starts(topic, partitions, since)
        for partition in range(partitions):
            low, high = watermarks(self._consumer, TopicPartition(topic, partition))
            start = max(low, starts.get(partition, low))
            if start < high:
                ranges[partition] = (start, high)
        yield from self._read(topic, ranges)

    def _starts(self, topic: str, partitions: int, since: datetime | None) -> dict[int, int]:
        if since is None:
            return {}
        stamp = int(since.timestamp() * 1000)
        found = self._consumer.offsets_for_times(
            [TopicPartition(topic, p, stamp) for p in range(partitions)], timeout=self._timeout
        )
        # No record at or after the time: the partition's end (OFFSET_END), nothing to read.
        return {
            tp.partition: (2**62 if tp.offset in (OFFSET_END, -1) else tp.offset) for tp in found
        }

    def _read(self, topic: str, ranges: dict[int, tuple[int, int]]) -> Iterator[DeadLetter]:
        """Records of each partition from its start up to (not including) its end offset."""
        ends = {p: end for p, (start, end) in ranges.items()}
        if not ends:
            return
        group = _group_of(topic) or topic
        self._consumer.assign([TopicPartition(topic, p, start) for p, (start, _) in ranges.items()])
        deadline = time.monotonic() + READ_SECONDS
        try:
            while ends:
                if time.monotonic() > deadline:
                    raise StateLoadError(f"could not read {topic} to the wanted offsets")
                for message in self._consumer.consume(500, 0.2):
                    letter = _letter(group, message, ends)
                    if letter is not None:
                        yield letter
                # Positions move past transaction markers too, which messages never show.
                for tp in self._consumer.position([TopicPartition(topic, p) for p in list(ends)]):
                    if tp.offset >= ends[tp.partition]:
                        ends.pop(tp.partition)
        finally:
            self._consumer.unassign()


def _letter(group: str, message: Message, ends: dict[int, int]) -> DeadLetter | None:
    partition, offset = message.partition(), message.offset()
    if message.error() or partition is None or offset is None:
        return None
    if partition not in ends or offset >= ends[partition]:
        return None
    key, value = message.key(), message.value()
    headers = [(h[0], _bytes(h[1])) for h in (message.headers() or [])]
    _, stamp = message.timestamp()
    return DeadLetter(
        id=DeadLetterId(group, partition, offset),
        key=key.decode(errors="replace") if isinstance(key, bytes) else key,
        value=_bytes(value),
        headers=headers,
        written_ms=stamp,
        about=DeadLetterHeaders.read(headers),
    )


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else bytes(value)


def read_marks(settings: KafkaSettings) -> dict[str, RedriveMark]:
    """Every dead letter redriven so far: id -> when and by whom (none if the topic is new)."""
    marks: dict[str, RedriveMark] = {}
    try:
        records = list(iter_to_end(settings, DLQ_REDRIVEN.name, client=CLIENT, metadata_timeout=10))
    except StateLoadError:
        return marks
    for key, value in records:
        if key is not None:
            marks[key] = RedriveMark.parse(value)
    return marks
