"""What the runner does with records `mlc dlq redrive` put back for its group.

Every runner also reads its own group's `redrive.<group>.v1` (by pattern: no error while the
topic does not exist), so a redrive reaches exactly that group and no consumer filters
anything. A record from it is handled as the record at its original position (its
dead-letter headers say where), and the redrive topic has no state of its own: a service's
`on_assigned`/`on_revoked` (a sink's ledger) see only input partitions. When another replica
owns a redriven record's original partition, that partition's state is loaded here before
the call ("borrowed") and let go with the redrive partition, so a command that was done is
seen as done by whichever replica reads the redrive topic.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterable

from chassis.kafka.dlq import redriven_origin
from chassis.kafka.record import Record
from chassis.topics import redrive_subscription, redrive_topic

Partition = tuple[str, int]


class RedriveIntake:
    def __init__(self, group: str, inputs: Collection[str]) -> None:
        self.topic = redrive_topic(group).name
        self.subscription = redrive_subscription(group)
        self._inputs = set(inputs)
        self._borrowed: set[Partition] = set()
        """Input partitions not ours whose state was loaded for redriven records of theirs."""

    def take(self, record: Record) -> None:
        """Marks a record of the redrive topic with its original position."""
        if record.topic == self.topic:
            record.origin = redriven_origin(record.headers)

    def stateful(self, partitions: Iterable[Partition]) -> list[Partition]:
        """The partitions with state of their own: all but the redrive topic's."""
        return [p for p in partitions if p[0] != self.topic]

    def to_borrow(self, record: Record, owned: Container[Partition]) -> Partition | None:
        """The original partition whose state must be loaded before `record` is handled:
        None when it is not redriven, its partition is ours, or already loaded."""
        origin = record.origin
        if origin is None or origin.topic not in self._inputs:
            return None
        source = (origin.topic, origin.partition)
        if source in owned or source in self._borrowed:
            return None
        return source

    def borrowed(self, source: Partition) -> None:
        self._borrowed.add(source)

    def owned_now(self, partitions: Iterable[Partition]) -> None:
        """Assigned to this replica: their state is its own now, not borrowed."""
        self._borrowed.difference_update(partitions)

    def let_go(self, revoked: Collection[Partition]) -> list[Partition]:
        """The partitions whose state goes with `revoked`: its input partitions, and every
        borrowed one once the redrive partition goes."""
        going = set(self.stateful(revoked))
        if any(topic == self.topic for topic, _ in revoked):
            going |= self._borrowed
            self._borrowed.clear()
        return sorted(going)
