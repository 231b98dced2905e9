"""One Kafka transaction per batch: its commands, audit records and processed markers.

The processor sends several commands and audit records per event. They all go into one
transaction that the agent commits before faust acknowledges the batch's input records, so a
read_committed reader sees the batch's records together or not at all: a worker killed
mid-batch leaves an open transaction that its successor (same transactional.id) aborts when
it starts. Waiting for one commit per batch also replaces a delivery report per record, which
cost more than routing the event (see `make bench --profile`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from chassis.kafka.producer import HeaderList, TransactionalProducer


class BatchTransaction:
    """Opens a transaction at the first `send` of a batch; `commit` makes the batch visible.

    What `send` returns is already complete: a record in an open transaction has nothing to
    wait for until the commit, and the caller awaits `commit` before it acknowledges input.
    One batch at a time: the agent commits before it handles the next batch.
    """

    def __init__(self, producer: TransactionalProducer) -> None:
        self._producer = producer
        self._open = False

    def send(
        self,
        topic: str,
        *,
        key: str,
        value: bytes | None,
        headers: HeaderList = (),
        partition: int | None = None,
    ) -> _InTransaction:
        """`value` None is a tombstone (an expired processed-marker)."""
        if not self._open:
            self._producer.begin()
            self._open = True
        self._producer.send(topic, key=key, value=value, headers=headers, partition=partition)
        return _IN_TRANSACTION

    async def commit(self) -> None:
        """Commits what was sent since the last commit (nothing to do if nothing was); raises
        ProduceError if the broker refused it, and then none of it is visible."""
        if not self._open:
            return
        self._open = False
        await asyncio.to_thread(self._producer.commit)


class _InTransaction:
    """An awaitable that is already done."""

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # pragma: no cover  # makes this a generator


_IN_TRANSACTION = _InTransaction()
