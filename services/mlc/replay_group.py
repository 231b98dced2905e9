"""The broker's side of a replay: the sink's group must be stopped, where the window starts
and ends in each partition, and the reset of the group's offsets.

The group must have no member: Kafka itself refuses to change the committed offsets of a
group with live members (`alter_consumer_group_offsets` answers UNKNOWN_MEMBER_ID /
non-empty group), and a running sink would keep its in-memory position anyway. Pausing the
sink instead is not offered: a paused consumer still holds its partitions and position, so
a reset would need the sink's cooperation, which stopping it makes unnecessary.

Offsets are per command partition. A partition's window starts at the first record written
at or after `--from` (Kafka's offsets-for-times) or at `--from-offset`, and the replay covers
what the group had already consumed from there: up to its committed offset (records past it
were never handled, so they are no replay: the sink handles them as always). The reset never
moves a group forward past records it has not consumed, so a `--from` later than the group's
position loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    OffsetSpec,
    ResourceType,
)

from mlc.group_status import EARLIEST, LATEST, GroupStatusReader, UnknownGroupError
from mlc.replay_times import ReplayUsageError, shown


class GroupRunningError(ReplayUsageError):
    """The sink's group has live members: stop the sink first."""


@dataclass(frozen=True)
class PartitionWindow:
    topic: str
    partition: int
    start: int
    """The window's first offset (where the group is reset to)."""
    stop: int
    """The end of the window (`--to`), else the partition's end."""
    consumed: int
    """The group's committed offset (what the sink has handled), -1 if none."""

    @property
    def replayed_until(self) -> int:
        """Records before this offset were handled and are read again after the reset."""
        return max(self.consumed, self.start)

    @property
    def reset_to(self) -> int | None:
        """Never past a record the group has not consumed yet; None for a partition the
        group has never committed (it starts there as its `auto.offset.reset` says, so
        setting an offset could only skip records it never read)."""
        return None if self.consumed < 0 else min(self.start, self.consumed)


class ReplayBroker:
    """Reads and changes the group's offsets through one AdminClient."""

    def __init__(self, admin: AdminClient, *, timeout: float = 10.0) -> None:
        self._admin = admin
        self._timeout = timeout
        self._reader = GroupStatusReader(admin, timeout=timeout)

    def check_group(self, group: str, *, sink: str, stopped: bool) -> str:
        """The group's state; an unknown group raises; live members raise when `stopped`.

        One group is described, not every group listed: a shared broker holds hundreds."""
        future = self._admin.describe_consumer_groups([group], request_timeout=self._timeout)
        description = self._result(future[group], f"describing group {group}")
        state = description.state.name
        if state in ("DEAD", "UNKNOWN"):
            raise UnknownGroupError(
                f"unknown consumer group {group} (give the sink's options, or --group, as it runs)"
            )
        members = len(description.members)
        if stopped and members:
            raise GroupRunningError(
                f"group {group} has {members} running members: stop {sink} first "
                f"(kubectl scale deployment/{sink} --replicas=0)"
            )
        return str(state)

    def partitions(self, topic: str) -> list[int]:
        try:
            metadata = self._admin.list_topics(topic, timeout=self._timeout).topics[topic]
        except KafkaException as exc:
            raise ReplayUsageError(f"cannot read topic {topic}: {exc.args[0]}") from exc
        if metadata.error is not None:
            raise ReplayUsageError(f"no topic {topic} on the broker ({metadata.error.str()})")
        return sorted(metadata.partitions)

    def retention(self, topic: str) -> timedelta | None:
        """The topic's retention.ms (None: kept forever)."""
        resource = ConfigResource(ResourceType.TOPIC, topic)
        future = self._admin.describe_configs([resource], request_timeout=self._timeout)
        configs = self._result(future[resource], f"reading the configuration of {topic}")
        value = int(configs["retention.ms"].value)
        return None if value < 0 else timedelta(milliseconds=value)

    def windows(
        self,
        group: str,
        topics: Iterable[str],
        *,
        since: datetime | None,
        until: datetime | None,
        offsets: dict[int | None, int],
        now: datetime,
    ) -> list[PartitionWindow]:
        """Each command partition's window (see the module's docstring)."""
        names = list(topics)
        wanted = [(t, p) for t in names for p in self.partitions(t)]
        if offsets and None not in offsets:
            unknown = [p for p in offsets if p not in {p for _, p in wanted}]
            if unknown:
                raise ReplayUsageError(f"--from-offset: no partition {unknown[0]} in {names[0]}")
            wanted = [(t, p) for t, p in wanted if p in offsets]
        low = self._reader.offsets(wanted, EARLIEST)
        high = self._reader.offsets(wanted, LATEST)
        if since is not None:
            for topic in {t for t, _ in wanted}:
                self._check_retained(topic, since, now)
            starts = self._at(wanted, since, high)
        else:
            starts = {tp: offsets.get(tp[1], offsets.get(None, 0)) for tp in wanted}
            for tp, offset in starts.items():
                if not low[tp] <= offset <= high[tp]:
                    raise ReplayUsageError(
                        f"--from-offset {offset} is not retained in {tp[0]} partition {tp[1]} "
                        f"(it holds offsets {low[tp]} to {high[tp]})"
                    )
        stops = high if until is None else self._at(wanted, until, high)
        committed = self._reader.committed([group])[group]
        return [
            PartitionWindow(t, p, start=starts[(t, p)], stop=stops[(t, p)],
                            consumed=committed.get((t, p), -1))
            for t, p in wanted
        ]  # fmt: skip

    def reset(self, group: str, windows: Iterable[PartitionWindow]) -> int:
        """Commits each partition's `reset_to` for the group (Kafka refuses it while the
        group has members); returns how many partitions were reset."""
        partitions = [
            TopicPartition(w.topic, w.partition, w.reset_to)
            for w in windows
            if w.reset_to is not None
        ]
        if not partitions:
            return 0
        future = self._admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, partitions)], request_timeout=self._timeout
        )[group]
        answer = self._result(future, f"resetting the offsets of {group}")
        failed = [tp for tp in answer.topic_partitions if tp.error is not None]
        if failed:
            raise ReplayUsageError(
                f"Kafka refused the reset of {group} on {failed[0].topic} partition "
                f"{failed[0].partition}: {failed[0].error}"
            )
        return len(partitions)

    def _at(
        self, wanted: list[tuple[str, int]], when: datetime, high: dict[tuple[str, int], int]
    ) -> dict[tuple[str, int], int]:
        """The first offset written at or after `when`; the end where none is."""
        spec = OffsetSpec.for_timestamp(int(when.timestamp() * 1000))
        found = self._reader.offsets(wanted, spec)
        return {tp: high[tp] if offset < 0 else offset for tp, offset in found.items()}

    def _check_retained(self, topic: str, since: datetime, now: datetime) -> None:
        retention = self.retention(topic)
        if retention is not None and since < now - retention:
            raise ReplayUsageError(
                f"--from {shown(since)} is before the retention of {topic} "
                f"({_duration(retention)}: its records from before {shown(now - retention)} "
                "may be deleted)"
            )

    def _result(self, future: Any, what: str) -> Any:
        try:
            return future.result()
        except KafkaException as exc:
            raise ReplayUsageError(f"{what}: {exc.args[0]}") from exc


def _duration(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"
