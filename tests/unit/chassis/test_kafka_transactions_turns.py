"""KafkaTransactions: publishes from one event loop take turns on the one transactional
producer (two open transactions at once are refused by librdkafka, which killed the
airbase-poller when two tenants committed together)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chassis.kafka.transactions import KafkaTransactions

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class OneTransactionProducer:
    """Stands in for `TransactionalProducer`: a transaction that sees another one open while
    it is open records the overlap (the real producer raises _CONFLICT there)."""

    def __init__(self) -> None:
        self.open = 0
        self.overlaps = 0
        self.second_arrived = threading.Event()
        self.written: list[tuple[str, str, Any]] = []
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[OneTransactionProducer]:
        with self._lock:
            self.open += 1
            if self.open > 1:
                self.overlaps += 1
                self.second_arrived.set()
        # Held open until a second transaction arrives, or long enough for one to (1 s).
        self.second_arrived.wait(timeout=1.0)
        try:
            yield self
        finally:
            with self._lock:
                self.open -= 1

    def produce(self, topic: str, *, key: str, value: Any) -> None:
        self.written.append((topic, key, value))

    def poll(self, timeout: float) -> int:
        return 0


async def test_two_publishes_at_once_take_turns_on_the_producer() -> None:
    producer = OneTransactionProducer()
    transactions = KafkaTransactions(producer)  # type: ignore[arg-type]
    await asyncio.gather(
        transactions.publish([("t", "tenant-a", b"1")]),
        transactions.publish([("t", "tenant-b", b"2")]),
    )
    assert producer.overlaps == 0
    assert sorted(key for _, key, _ in producer.written) == ["tenant-a", "tenant-b"]
