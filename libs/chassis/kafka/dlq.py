"""Dead-lettering: a record that cannot succeed goes to its group's DLQ, byte for byte.

The original key, value and headers are kept, and headers say why and where it came from,
so `mlc dlq redrive` can put it back on exactly the topic and group that failed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Record
from chassis.topics import dead_letter_topic

REASON = "dlq-reason"
SOURCE_TOPIC = "dlq-topic"
SOURCE_PARTITION = "dlq-partition"
SOURCE_OFFSET = "dlq-offset"
GROUP = "dlq-group"
AT = "dlq-at"


class DeadLetters:
    def __init__(self, producer: EventProducer, group: str) -> None:
        self._producer = producer
        self._group = group
        self.topic = dead_letter_topic(group).name

    def send(self, record: Record, reason: str) -> None:
        """Writes the record to the DLQ and waits for Kafka to confirm it."""
        headers = [
            *record.headers,
            (REASON, reason[:1000].encode()),
            (SOURCE_TOPIC, record.topic.encode()),
            (SOURCE_PARTITION, str(record.partition).encode()),
            (SOURCE_OFFSET, str(record.offset).encode()),
            (GROUP, self._group.encode()),
            (AT, datetime.now(UTC).isoformat().encode()),
        ]
        self._producer.send_confirmed(self.topic, key=record.key, value=record.raw, headers=headers)
