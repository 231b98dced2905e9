"""Reading a compacted state topic to its end: the newest value of every key.

Sources keep cursors and sinks keep delivery ledgers in compacted topics; at start-up (and
after a rebalance) they read the whole topic, committed records only, to rebuild their view.
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, TopicPartition

from chassis.settings import KafkaSettings

LOAD_TIMEOUT_SECONDS = 120.0


class StateLoadError(Exception):
    """The state topic could not be read to its end; going on without it would repeat work."""


def read_to_end(settings: KafkaSettings, topic: str, *, client: str) -> dict[str, bytes]:
    consumer = Consumer(
        settings.client_config(client)
        | {
            "group.id": f"{client}-state-reader",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        if metadata.error is not None:
            raise StateLoadError(f"cannot read {topic}: {metadata.error}")
        ends: dict[int, int] = {}
        assignment = []
        for partition in metadata.partitions:
            tp = TopicPartition(topic, partition)
            low, high = consumer.get_watermark_offsets(tp, timeout=30)
            if high > low:
                ends[partition] = high
                assignment.append(TopicPartition(topic, partition, low))
        consumer.assign(assignment)
        values: dict[str, bytes] = {}
        deadline = time.monotonic() + LOAD_TIMEOUT_SECONDS
        while ends:
            if time.monotonic() > deadline:
                raise StateLoadError(f"could not read {topic} to its end")
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                key, value = message.key(), message.value()
                if key is not None and isinstance(value, bytes):
                    values[key.decode() if isinstance(key, bytes) else key] = value
            # Positions move past transaction markers too, which messages never show.
            for tp in consumer.position([TopicPartition(topic, p) for p in list(ends)]):
                if tp.offset >= ends[tp.partition]:
                    ends.pop(tp.partition)
        return values
    finally:
        consumer.close()
