"""A new index file reads the audit trail from its start.

The file and the group's committed offsets must describe the same records. When the file is
new (a lost volume, a new node, an operator who deleted it to rebuild) the group still has
offsets at the end of the topic, and the file would hold only what comes after them. So
before it joins its group, the indexer looks: an index without a record while the group has
committed offsets moves the group back to the start of each partition. Kafka refuses that
while the group has members (a previous pod whose session has not ended yet): the indexer
then stops with `GroupStillRunning`, and its restart tries again.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from chassis.errors import RetryableError

__all__ = ["GroupStillRunning", "start_new_index_from_the_beginning"]

log = logging.getLogger(__name__)

_EARLIEST: OffsetSpec = OffsetSpec.earliest()  # type: ignore[no-untyped-call]


class GroupStillRunning(RetryableError):
    """The index is new but its group's offsets cannot be moved back yet."""


def start_new_index_from_the_beginning(
    admin: AdminClient, *, group: str, topic: str, partitions: int, timeout: float = 30.0
) -> bool:
    """Moves `group` to the start of `topic` if it has committed offsets there; called for
    an index file without records. True when it moved the group."""
    wanted = [TopicPartition(topic, p) for p in range(partitions)]
    request = [ConsumerGroupTopicPartitions(group, wanted)]
    listed = _result(admin.list_consumer_group_offsets(request, request_timeout=timeout)[group])
    if all(tp.offset < 0 for tp in listed.topic_partitions):
        return False
    starts = admin.list_offsets(dict.fromkeys(wanted, _EARLIEST), request_timeout=timeout)
    back = [TopicPartition(tp.topic, tp.partition, _result(f).offset) for tp, f in starts.items()]
    moved = admin.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, back)], request_timeout=timeout
    )[group]
    failed = [tp for tp in _result(moved).topic_partitions if tp.error is not None]
    if failed:
        raise GroupStillRunning(f"{group} on {topic}: {failed[0].error}")
    log.warning(
        "new audit index: reading the audit trail from its start",
        extra={"group": group, "topic": topic},
    )
    return True


def _result(future: Future[Any]) -> Any:
    try:
        return future.result()
    except KafkaException as exc:
        raise GroupStillRunning(
            f"cannot move the audit index's group to the start of the trail: {exc}"
        ) from exc
