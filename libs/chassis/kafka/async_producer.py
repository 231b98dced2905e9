"""An awaitable produce: the coroutine returns once Kafka has the record, or raises.

Webhook receivers acknowledge a sender only after its payload is durably in Kafka; awaiting
each record's own delivery report (instead of flushing the whole producer) lets many
requests share one producer without waiting for each other. A record over the producer's or
the topic's maximum message size is a `RecordTooLargeError` (permanent: no retry of the same
record can be stored), whether librdkafka refuses it at once or the broker does later; every
other failure is a `ProduceError` (a retry may succeed).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from chassis.errors import PermanentError
from chassis.kafka.producer import HeaderList, ProduceError, producer_config
from chassis.settings import KafkaSettings

_TOO_LARGE = frozenset({KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE})


class RecordTooLargeError(PermanentError):
    """Kafka will never take this record: it is over the largest message size allowed."""


class AsyncProducer:
    def __init__(
        self, settings: KafkaSettings, client: str, *, delivery_timeout_ms: int = 5000
    ) -> None:
        config = producer_config(settings, client) | {
            "delivery.timeout.ms": delivery_timeout_ms,
            "request.timeout.ms": min(delivery_timeout_ms, 30_000),
            "linger.ms": 2,
        }
        self._producer = Producer(config)
        self._running = True
        self._poller = threading.Thread(target=self._serve, name=f"{client}-delivery", daemon=True)
        self._poller.start()

    def _serve(self) -> None:
        while self._running:
            self._producer.poll(0.05)

    async def send(
        self, topic: str, *, key: str | None, value: bytes, headers: HeaderList = ()
    ) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def delivered(err: KafkaError | None, _msg: Any) -> None:
            loop.call_soon_threadsafe(_settle, done, err)

        try:
            self._producer.produce(
                topic, key=key, value=value, headers=list(headers), on_delivery=delivered
            )
        except BufferError as exc:
            raise ProduceError(f"producer queue full: {exc}") from exc
        except KafkaException as exc:
            raise _failure(exc.args[0]) from exc
        await done

    def close(self, timeout: float = 10.0) -> None:
        self._producer.flush(timeout)
        self._running = False
        self._poller.join(timeout)


def _settle(done: asyncio.Future[None], err: KafkaError | None) -> None:
    if done.done():
        return
    if err is None:
        done.set_result(None)
    else:
        done.set_exception(_failure(err))


def _failure(err: KafkaError) -> ProduceError | RecordTooLargeError:
    if err.code() in _TOO_LARGE:
        return RecordTooLargeError(f"Kafka refuses the record as too large: {err.str()}")
    return ProduceError(str(err))
