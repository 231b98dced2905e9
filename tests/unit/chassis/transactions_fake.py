"""Kafka's transactions as a service's decision writer sees them, for unit tests without a
broker: what was committed, batch by batch; `refuse` aborts the next one; `gate` holds a
publish open until it is set."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from chassis.errors import RetryableError
from chassis.kafka.transactions import Outgoing


class FakeTransactions:
    def __init__(self) -> None:
        self.committed: list[list[Outgoing]] = []
        self.refuse = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def publish(self, records: Sequence[Outgoing]) -> None:
        await self.gate.wait()
        if self.refuse:
            self.refuse = False
            raise RetryableError("transaction aborted")
        self.committed.append(list(records))

    def on(self, topic: str) -> list[str]:
        """The keys committed to `topic`, in order."""
        return [key for batch in self.committed for t, key, _ in batch if t == topic]
