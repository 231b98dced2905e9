"""What `mlc status` measures: per consumer group its lag, its rate, its dead letters and
the keys it holds.

Everything comes from the broker, so it works on any running deployment without asking a
service: a group's committed offsets against each partition's high watermark (the lag), two
such samples an interval apart (the rate: records committed per second), and the retained
records of the group's DLQ (`dlq.<group>.v1`, written by `chassis.kafka.dlq`, one partition,
never transactional, so its watermark span is its record count), and the keys its runners
hold (rate-limited, credential-held, daily-limit, ...) as they publish them on the
compacted `state.holds.v1` (`chassis.kafka.held_keys`). A hold counts only while the member
that wrote it is still in the group: a process killed while holding keys (SIGKILL) leaves
its records behind, and they stop showing once the broker has dropped that member (at once
when a static member restarts under its instance id, else after the session timeout).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from chassis.errors import PermanentError, RetryableError
from chassis.kafka.held_keys import HeldKey, live_holds
from chassis.topics import dead_letter_topic

# OffsetSpec's factories carry no annotations; made once here for mypy's strict mode.
LATEST: OffsetSpec = OffsetSpec.latest()  # type: ignore[no-untyped-call]
EARLIEST: OffsetSpec = OffsetSpec.earliest()  # type: ignore[no-untyped-call]

# A run's groups are `run-<run id>-<service>`; the demo's run id is `YYYYMMDD-HHMMSS-xxxx`.
_RUN_GROUP = re.compile(r"^run-(?:\d{8}-\d{6}-[0-9a-f]+|[^-]+)-(?P<service>.+)$")


class BrokerUnreachableError(RetryableError):
    """The broker did not answer within the timeout: try again once it is back."""


class UnknownGroupError(PermanentError):
    """A group named on the command line has never been seen by the broker."""


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(self.end - self.committed, 0)


@dataclass(frozen=True)
class GroupStatus:
    group: str
    state: str
    partitions: tuple[PartitionLag, ...]
    dead_letters: int
    rate: float | None = None
    """Records committed per second between the two samples; None when not sampled."""
    held: tuple[HeldKey, ...] = field(default=())
    """The keys the group's live members hold now, oldest first."""

    @property
    def service(self) -> str:
        """The service a group id names: `mlc-slack-sink` and `run-<run id>-slack-sink`
        both give `slack-sink`; another group id is shown as it is."""
        if self.group.startswith("mlc-"):
            return self.group.removeprefix("mlc-")
        found = _RUN_GROUP.match(self.group)
        return found.group("service") if found else self.group

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "service": self.service,
            "state": self.state,
            "lag": self.lag,
            "rate_per_s": self.rate,
            "dead_letters": self.dead_letters,
            "held_keys": len(self.held),
            "held": [h.model_dump(mode="json", exclude={"group"}) for h in self.held],
            "partitions": [
                {"topic": p.topic, "partition": p.partition, "committed": p.committed,
                 "end": p.end, "lag": p.lag}
                for p in self.partitions
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class StatusQuery:
    groups: tuple[str, ...] = ()
    """Exactly these groups (each must exist); empty: every group that `prefix` selects."""
    prefix: str = ""
    """Only groups committed on topics whose names start with it (a run's topics)."""
    timeout: float = 10.0


class GroupStatusReader:
    """Reads group offsets, watermarks and DLQ sizes through one AdminClient."""

    def __init__(self, admin: AdminClient, *, timeout: float) -> None:
        self._admin = admin
        self._timeout = timeout

    def _result(self, future: Any, what: str) -> Any:
        try:
            return future.result()
        except KafkaException as exc:
            raise BrokerUnreachableError(f"{what}: {exc.args[0]}") from exc

    def group_states(self) -> dict[str, str]:
        """Every consumer group the broker knows, with its state (Stable, Empty, ...)."""
        future = self._admin.list_consumer_groups(request_timeout=self._timeout)
        listing = self._result(future, "listing the consumer groups")
        if listing.errors and not listing.valid:
            raise BrokerUnreachableError(f"listing the consumer groups: {listing.errors[0]}")
        return {g.group_id: g.state.name for g in listing.valid}

    def committed(self, groups: Iterable[str]) -> dict[str, dict[tuple[str, int], int]]:
        """Each group's committed offsets. The client takes one group per request, so every
        request is sent before any answer is awaited (hundreds of groups in a few seconds)."""
        futures = {
            group: self._admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group)], request_timeout=self._timeout
            )[group]
            for group in groups
        }
        answers = {g: self._result(f, f"reading the offsets of {g}") for g, f in futures.items()}
        return {
            group: {
                (tp.topic, tp.partition): tp.offset
                for tp in answer.topic_partitions
                if tp.offset >= 0
            }
            for group, answer in answers.items()
        }

    def offsets(
        self, partitions: Iterable[tuple[str, int]], spec: OffsetSpec
    ) -> dict[tuple[str, int], int]:
        wanted = {TopicPartition(t, p): spec for t, p in partitions}
        if not wanted:
            return {}
        futures = self._admin.list_offsets(wanted, request_timeout=self._timeout)
        return {
            (tp.topic, tp.partition): self._result(f, f"reading the end of {tp.topic}").offset
            for tp, f in futures.items()
        }

    def members(self, groups: Iterable[str]) -> dict[str, set[str]]:
        """The member ids each group has now (one describe request for them all)."""
        wanted = list(groups)
        if not wanted:
            return {}
        futures = self._admin.describe_consumer_groups(wanted, request_timeout=self._timeout)
        return {
            group: {m.member_id for m in self._result(f, f"describing {group}").members}
            for group, f in futures.items()
        }

    def has_topic(self, name: str) -> bool:
        try:
            topics = self._admin.list_topics(name, timeout=self._timeout).topics
        except KafkaException as exc:
            raise BrokerUnreachableError(f"describing {name}: {exc.args[0]}") from exc
        return name in topics and topics[name].error is None

    def dead_letters(self, groups: Iterable[str]) -> dict[str, int]:
        """Retained records of each group's DLQ; 0 for a group that has none."""
        try:
            topics = self._admin.list_topics(timeout=self._timeout).topics
        except KafkaException as exc:
            raise BrokerUnreachableError(f"listing the topics: {exc.args[0]}") from exc
        partitions = {
            (name, p): group
            for group in groups
            if (name := dead_letter_topic(group).name) in topics
            for p in topics[name].partitions
        }
        ends = self.offsets(partitions, LATEST)
        starts = self.offsets(partitions, EARLIEST)
        counts = dict.fromkeys(groups, 0)
        for key, group in partitions.items():
            counts[group] += ends[key] - starts[key]
        return counts


def select_groups(states: Mapping[str, str], query: StatusQuery) -> list[str]:
    unknown = [g for g in query.groups if g not in states]
    if unknown:
        raise UnknownGroupError(f"unknown consumer group {', '.join(unknown)}")
    return sorted(query.groups or states)


def _sample(
    reader: GroupStatusReader, groups: Iterable[str], prefix: str
) -> dict[str, dict[tuple[str, int], int]]:
    return {
        group: {k: v for k, v in committed.items() if k[0].startswith(prefix)}
        for group, committed in reader.committed(groups).items()
    }


def held_by_live_members(
    reader: GroupStatusReader, holds: Iterable[HeldKey], groups: Iterable[str]
) -> dict[str, list[HeldKey]]:
    """Each group's holds whose writer is still a member; only groups with holds on the
    topic are described."""
    selected = set(groups)
    holding = [h for h in holds if h.group in selected]
    return live_holds(holding, reader.members({h.group for h in holding}))


def read_status(
    reader: GroupStatusReader,
    query: StatusQuery,
    *,
    interval: float,
    wait: Callable[[float], None],
    clock: Callable[[], float],
    held_keys: Callable[[], list[HeldKey]] = list,
) -> list[GroupStatus]:
    """One status per selected group; with `interval` > 0 a second sample of the committed
    offsets `interval` seconds later (by `wait`) gives each group's rate. `held_keys` reads
    every hold published (`chassis.kafka.held_keys.read_held_keys`), read after the samples
    so a hold is never older than the lag beside it."""
    states = reader.group_states()
    groups = select_groups(states, query)
    first = _sample(reader, groups, query.prefix)
    if query.prefix and not query.groups:
        groups = [g for g in groups if first[g]]
    rates: dict[str, float] = {}
    last = first
    if interval > 0:
        started = clock()
        wait(interval)
        last = _sample(reader, groups, query.prefix)
        elapsed = max(clock() - started, 1e-9)
        for group in groups:
            before = first[group]
            done = sum(v - before.get(k, v) for k, v in last[group].items())
            rates[group] = done / elapsed
    ends = reader.offsets({k for g in groups for k in last[g]}, LATEST)
    dead = reader.dead_letters(groups)
    held = held_by_live_members(reader, held_keys(), groups)
    return [
        GroupStatus(
            group=group,
            state=states[group],
            partitions=tuple(
                PartitionLag(topic, partition, committed=offset, end=ends[(topic, partition)])
                for (topic, partition), offset in sorted(last[group].items())
            ),
            dead_letters=dead[group],
            rate=rates.get(group),
            held=tuple(held.get(group, ())),
        )
        for group in groups
    ]
