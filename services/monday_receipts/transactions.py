"""The reconciliation's writes: a run's events and its cursor in one Kafka transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from chassis.kafka.producer import TransactionalProducer
from monday_receipts.reconcile import Outgoing


class KafkaTransactions:
    def __init__(self, producer: TransactionalProducer) -> None:
        self._producer = producer

    async def publish(self, records: Sequence[Outgoing]) -> None:
        """Returns once the transaction is committed; raises `ProduceError` if it was not
        (aborted: nothing of it is visible to read_committed readers)."""
        await asyncio.to_thread(self._write, list(records))

    def _write(self, records: list[Outgoing]) -> None:
        with self._producer.transaction() as producer:
            for topic, key, value in records:
                producer.produce(topic, key=key, value=value)
                producer.poll(0)
