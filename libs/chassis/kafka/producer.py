"""Producers: idempotent with acks=all, and a transactional one for sources.

A source writes a page of events and its new cursor in one transaction, so a crash either
loses the whole page and its cursor (and the page is read again) or keeps both: never one
without the other.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from confluent_kafka import KafkaError, KafkaException, Producer

from chassis.settings import KafkaSettings

log = logging.getLogger(__name__)

HeaderList = Sequence[tuple[str, bytes]]


class ProduceError(Exception):
    """Kafka did not confirm a write; the caller must not treat it as done."""


def producer_config(
    settings: KafkaSettings, client: str, *, transactional_id: str | None = None
) -> dict[str, Any]:
    config = settings.client_config(client) | {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "lz4",
        "delivery.timeout.ms": 120_000,
        # The Java clients' and aiokafka's (faust's) key hashing: one key, one partition, whoever
        # writes it. librdkafka's default (CRC32) would split a Slack channel over two partitions.
        "partitioner": "murmur2_random",
    }
    if transactional_id:
        config["transactional.id"] = transactional_id
        config["transaction.timeout.ms"] = 60_000
        config["delivery.timeout.ms"] = 60_000
    return config


class EventProducer:
    """Idempotent producer whose `flush` raises if any write since the last flush failed."""

    def __init__(self, settings: KafkaSettings, client: str) -> None:
        self._producer = Producer(producer_config(settings, client))
        self._errors: list[str] = []
        self._lock = threading.Lock()

    def send(self, topic: str, *, key: str | None, value: bytes, headers: HeaderList = ()) -> None:
        self._producer.produce(
            topic, key=key, value=value, headers=list(headers), on_delivery=self._delivered
        )
        self._producer.poll(0)

    def _delivered(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            with self._lock:
                self._errors.append(f"{msg.topic()}: {err}")

    def flush(self, timeout: float = 30.0) -> None:
        remaining = self._producer.flush(timeout)
        with self._lock:
            errors, self._errors = self._errors, []
        if remaining:
            raise ProduceError(f"{remaining} records not confirmed within {timeout}s")
        if errors:
            raise ProduceError("; ".join(errors[:5]))

    def close(self) -> None:
        self.flush()


class TransactionalProducer:
    """Writes groups of records atomically; a restarted instance with the same id fences the old.

    Either `transaction()` around synchronous writes, or `begin`, `send`s and `commit` when the
    writes come from an event loop (`commit` blocks: run it in a thread).
    """

    def __init__(self, settings: KafkaSettings, *, client: str, transactional_id: str) -> None:
        self._producer = Producer(
            producer_config(settings, client, transactional_id=transactional_id)
        )
        self._producer.init_transactions(30)

    @contextmanager
    def transaction(self) -> Iterator[Producer]:
        """Yields the producer inside a transaction; commits on exit, aborts on an exception."""
        self.begin()
        try:
            yield self._producer
        except KafkaException as exc:
            self._abort_after(exc)
        except BaseException:
            self._producer.abort_transaction(30)
            raise
        self.commit()

    def begin(self) -> None:
        self._producer.begin_transaction()

    def send(
        self,
        topic: str,
        *,
        key: str | None,
        value: bytes,
        headers: HeaderList = (),
        partition: int | None = None,
    ) -> None:
        """Adds a record to the open transaction; it is durable once `commit` returns."""
        if partition is None:
            self._producer.produce(topic, key=key, value=value, headers=list(headers))
        else:
            self._producer.produce(
                topic, key=key, value=value, headers=list(headers), partition=partition
            )
        self._producer.poll(0)

    def commit(self) -> None:
        """Commits every record sent since `begin`, or aborts them all and raises ProduceError."""
        try:
            self._producer.commit_transaction(60)
        except KafkaException as exc:
            self._abort_after(exc)

    def _abort_after(self, exc: KafkaException) -> NoReturn:
        error = exc.args[0]
        if error.txn_requires_abort():
            self._producer.abort_transaction(30)
        raise ProduceError(f"transaction failed: {error}") from exc

    def close(self) -> None:
        self._producer.flush(10)
