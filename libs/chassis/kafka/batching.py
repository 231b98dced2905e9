"""Taking a digest's worth of records off the head of a long key queue (`Batching`).

When one key (a Slack channel) has fallen far behind, handing its queued records to one
call shrinks the backlog faster than one call per record. Only records the runner still
owns, that decode, and that the service calls foldable go into a batch; the first other
record ends it, so each key's order holds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from prometheus_client import Counter

from chassis.kafka.record import Batching, Record

__all__ = ["BATCHED", "Batching", "take_batch"]

BATCHED = Counter("mlc_records_batched_total", "Records handed over in a batch", ["group"])


def take_batch(
    queue: Collection[Record],
    batching: Batching,
    *,
    group: str,
    usable: Callable[[Record], bool],
) -> list[Record] | None:
    """Up to `max_records` foldable records from the head of a queue longer than
    `queue_over`, or None when there are not at least two. `usable` says a record is still
    owned and decodes."""
    if len(queue) <= batching.queue_over:
        return None
    batch: list[Record] = []
    for record in queue:
        if len(batch) >= batching.max_records:
            break
        if not usable(record) or not batching.foldable(record):
            break
        batch.append(record)
    if len(batch) < 2:
        return None
    BATCHED.labels(group).inc(len(batch))
    return batch
