"""The review topic: conflicts the writer found instead of writing, for a person to settle.

A conflict is sent before the command's ledger entry says DONE, so a crash in between sends
it again; it is keyed by the written entity and carries the command id, so a reader can
drop the repeat.
"""

from __future__ import annotations

from chassis.kafka.confirmed import ConfirmedTopic


class KafkaReview(ConfirmedTopic):
    """Sends each `VismaWriteConflict` to `review.visma-writer.v1`, waiting for Kafka."""
