"""Records written all or none: one Kafka transaction per call (a poll page and its cursor)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from chassis.kafka.producer import TransactionalProducer

Outgoing = tuple[str, str, bytes | None]
"""(topic, key, value) of one record; a value of None is a tombstone (a compacted topic's key
removed)."""


class Transactions(Protocol):
    async def publish(self, records: Sequence[Outgoing]) -> None:
        """Writes all the records or none (one Kafka transaction); raises if not committed."""


class KafkaTransactions:
    """One transaction at a time on `producer`: a transactional producer has one open
    transaction, so callers on one event loop (a poller's tenants, say) take turns; two at once
    fail in librdkafka ("Conflicting commit_transaction API call is already in progress")."""

    def __init__(self, producer: TransactionalProducer) -> None:
        self._producer = producer
        self._turn = asyncio.Lock()

    async def publish(self, records: Sequence[Outgoing]) -> None:
        """Returns once the transaction is committed; raises `ProduceError` if it was not
        (aborted: nothing of it is visible to read_committed readers)."""
        async with self._turn:
            await asyncio.to_thread(self._write, list(records))

    def _write(self, records: list[Outgoing]) -> None:
        with self._producer.transaction() as producer:
            for topic, key, value in records:
                producer.produce(topic, key=key, value=value)
                producer.poll(0)
