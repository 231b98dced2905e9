"""The baseline: a bare confluent-kafka loop that copies records from one topic to another.

It is the least any consume-produce service can do on this broker (no decoding, no logic,
one consumer and one producer in one thread), so the processor's figure divided by this one
says how much of the broker's capacity the framework and the routing keep for themselves.
Same producer guarantees as the processor: acks=all.
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer

from benchmarks.broker import BenchmarkError, Collected, Progress, collect

COMMIT_EVERY = 1000


def run_baseline(
    bootstrap: str,
    *,
    source: str,
    target: str,
    expected: int,
    timeout: float,
    progress: Progress,
) -> tuple[Collected, float]:
    """Copies `expected` records; returns the output timing and the loop's wall seconds."""
    wall = _copy(bootstrap, source=source, target=target, expected=expected, timeout=timeout)
    progress(f"copied {expected:,} records in {wall:.2f}s wall (first consumed to flushed)")
    return collect(bootstrap, target, expected=expected, timeout=timeout), wall


def _copy(bootstrap: str, *, source: str, target: str, expected: int, timeout: float) -> float:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-baseline-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    try:
        consumer.subscribe([source])
        deadline = time.monotonic() + timeout
        copied, started = 0, 0.0
        while copied < expected:
            if time.monotonic() > deadline:
                raise BenchmarkError(f"baseline copied {copied:,} of {expected:,} in {timeout}s")
            for message in consumer.consume(num_messages=500, timeout=0.5):
                if message.error():
                    raise BenchmarkError(f"baseline consume: {message.error()}")
                started = started or time.perf_counter()
                _send(producer, target, message)
                copied += 1
                if copied % COMMIT_EVERY == 0:
                    consumer.commit(asynchronous=True)
            producer.poll(0)
        if producer.flush(60):
            raise BenchmarkError("baseline producer did not flush in 60s")
        wall = time.perf_counter() - started
        _final_commit(consumer)
        return wall
    finally:
        consumer.close()


def _final_commit(consumer: Consumer) -> None:
    try:
        consumer.commit(asynchronous=False)
    except KafkaException as exc:
        # Nothing new since the last periodic commit: every offset is already stored.
        if exc.args[0].code() != KafkaError._NO_OFFSET:
            raise


def _send(producer: Producer, topic: str, message: Message) -> None:
    while True:
        try:
            producer.produce(topic, message.value(), message.key(), headers=message.headers())
            return
        except BufferError:
            producer.poll(0.1)
