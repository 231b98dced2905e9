"""Sending many records and awaiting them together: one flush per batch, not one report each.

The processor sends several commands and audit records per event and must know they are on
the broker before its dedupe table moves. A delivery report per record, handed from
librdkafka's thread to the event loop, cost more than routing the event (see `make bench
--profile`). Here every record sent before a flush starts is covered by that flush: one wait
in a worker thread per batch, which raises if any of its records failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from chassis.kafka.producer import EventProducer, HeaderList


class FlushedProducer:
    """Sends now; awaiting what `send` returns waits for a flush that covers the record.

    Records sent before a flush starts share it (the same awaitable); a record sent once it
    has started gets the next one, so no record is ever taken as delivered before it was.
    """

    def __init__(self, producer: EventProducer) -> None:
        self._producer = producer
        self._next: _Flush | None = None

    def send(self, topic: str, *, key: str, value: bytes, headers: HeaderList = ()) -> _Flush:
        self._producer.send(topic, key=key, value=value, headers=headers)
        if self._next is None or self._next.started:
            self._next = _Flush(self._producer)
        return self._next

    async def flush(self) -> None:
        await _Flush(self._producer)


class _Flush:
    """A flush that any number of awaiters share; the first one starts it."""

    def __init__(self, producer: EventProducer) -> None:
        self._producer = producer
        self._task: asyncio.Future[None] | None = None

    @property
    def started(self) -> bool:
        return self._task is not None

    def __await__(self) -> Generator[Any, None, None]:
        if self._task is None:
            self._task = asyncio.ensure_future(asyncio.to_thread(self._producer.flush))
        return self._task.__await__()
