"""Producers: idempotent with acks=all, and a transactional one for sources.

A source writes a page of events and its new cursor in one transaction, so a crash either
loses the whole page and its cursor (and the page is read again) or keeps both: never one
without the other.

`EventProducer` is shared by everything a service writes (ledger, DLQ, audit, outbox), so
each write has its own `Delivery`, resolved by that message's delivery report: a caller
confirms exactly its own writes, and never sees (or misses) another caller's failure.
While a consumer step runs inside `step_outputs()`, every write it makes is also collected,
so the runner can wait for them (its audit records included) before committing its offset.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_for_futures
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NoReturn

from confluent_kafka import KafkaError, KafkaException, Producer

from chassis.errors import RetryableError
from chassis.settings import KafkaSettings

log = logging.getLogger(__name__)

HeaderList = Sequence[tuple[str, bytes]]

Delivery = Future[None]
"""One write's outcome: done once Kafka confirmed it, or failed with its `ProduceError`."""

CONFIRM_SECONDS = 130.0
"""Longer than `delivery.timeout.ms`, after which librdkafka reports every write either way."""

QUEUE_FULL_WAIT = 30.0
"""How long `send` waits for room when librdkafka's local queue is full (a burst faster than
the broker takes it) before it gives up with `ProduceError`."""

_STEP: ContextVar[list[Delivery] | None] = ContextVar("chassis_step_outputs", default=None)


class ProduceError(RetryableError):
    """Kafka did not confirm a write; the caller must not treat it as done (a retry may)."""


@contextmanager
def step_outputs() -> Iterator[list[Delivery]]:
    """Collects the deliveries of every `EventProducer.send` made in this context (and in
    threads started from it with `asyncio.to_thread`) until the block ends."""
    collected: list[Delivery] = []
    token = _STEP.set(collected)
    try:
        yield collected
    finally:
        _STEP.reset(token)


def confirm(deliveries: Iterable[Delivery], timeout: float = CONFIRM_SECONDS) -> None:
    """Blocks until every delivery is confirmed; raises `ProduceError` naming those that
    failed or were not confirmed within `timeout`."""
    pending = list(deliveries)
    done, not_done = wait_for_futures(pending, timeout=timeout)
    errors = [str(d.exception()) for d in done if d.exception() is not None]
    if not_done:
        errors.append(f"{len(not_done)} writes not confirmed within {timeout}s")
    if errors:
        raise ProduceError("; ".join(errors[:5]))


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
    """Idempotent producer shared by a service's writers; each write has its own `Delivery`.

    A background thread serves delivery reports, so a delivery resolves without anyone
    flushing. `flush` only drains the queue (at shutdown); a caller that must know its
    writes landed `confirm`s their deliveries (or uses `send_confirmed`).
    """

    def __init__(
        self,
        settings: KafkaSettings,
        client: str,
        *,
        queue_full_wait: float = QUEUE_FULL_WAIT,
        max_queued: int | None = None,
    ) -> None:
        config = producer_config(settings, client)
        if max_queued is not None:
            config["queue.buffering.max.messages"] = max_queued
        self._producer = Producer(config)
        self._queue_full_wait = queue_full_wait
        self._running = True
        self._reports = threading.Thread(target=self._serve, name=f"{client}-reports", daemon=True)
        self._reports.start()

    def _serve(self) -> None:
        while self._running:
            self._producer.poll(0.05)

    def send(
        self,
        topic: str,
        *,
        key: str | None,
        value: bytes | None,
        headers: HeaderList = (),
        partition: int | None = None,
    ) -> Delivery:
        """Queues one write; its delivery resolves when Kafka confirms it or gives up.
        `value` None is a tombstone; `partition` None leaves the partition to the key's hash."""
        delivery: Delivery = Future()
        delivery.set_running_or_notify_cancel()

        def delivered(err: KafkaError | None, _msg: Any) -> None:
            if err is None:
                delivery.set_result(None)
            else:
                delivery.set_exception(ProduceError(f"{topic}: {err}"))

        args: dict[str, Any] = {"key": key, "value": value, "headers": list(headers),
                                "on_delivery": delivered}  # fmt: skip
        if partition is not None:
            args["partition"] = partition
        deadline = time.monotonic() + self._queue_full_wait
        while True:
            try:
                self._producer.produce(topic, **args)
                break
            except BufferError as exc:
                # The local queue is full: the caller waits for room (backpressure) instead of
                # losing the write, as long as the broker keeps taking records.
                if time.monotonic() >= deadline:
                    raise ProduceError(
                        f"{topic}: not queued: {exc} for {self._queue_full_wait:g}s"
                    ) from exc
                self._producer.poll(0.05)
            except KafkaException as exc:
                raise ProduceError(f"{topic}: not queued: {exc}") from exc
        step = _STEP.get()
        if step is not None:
            step.append(delivery)
        return delivery

    def send_confirmed(
        self, topic: str, *, key: str | None, value: bytes, headers: HeaderList = ()
    ) -> None:
        """Writes one record and blocks until Kafka confirmed it (or raises `ProduceError`)."""
        confirm([self.send(topic, key=key, value=value, headers=headers)])

    def flush(self, timeout: float = 30.0) -> None:
        """Waits until every queued write is reported; raises if some are not by `timeout`.
        Says nothing about which writes failed: their deliveries do."""
        remaining = self._producer.flush(timeout)
        if remaining:
            raise ProduceError(f"{remaining} records not confirmed within {timeout}s")

    def close(self, timeout: float = 30.0) -> None:
        """Waits up to `timeout` for queued writes (raising if some are unconfirmed), then stops
        serving reports: a producer left open keeps reconnecting and logging after its broker
        is gone."""
        try:
            self.flush(timeout)
        finally:
            self._running = False
            self._reports.join(5.0)


def _undecided(exc: KafkaException) -> bool:
    """A transactional call that failed only for now (timed out, broker away): call it again."""
    error = exc.args[0]
    return bool(error.retriable()) and not error.txn_requires_abort() and not error.fatal()


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
            # A write refused inside the body leaves the transaction open: abort it, or the
            # next `begin` fails.
            self._abort()
            raise ProduceError(f"transaction failed: {exc.args[0]}") from exc
        except BaseException:
            self._abort()
            raise
        self.commit()

    def begin(self) -> None:
        self._producer.begin_transaction()

    def send(
        self,
        topic: str,
        *,
        key: str | None,
        value: bytes | None,
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
        """Commits every record sent since `begin`, or aborts them all and raises ProduceError.

        Returns only once the outcome is known. A retriable failure (the broker unreachable
        past the call's timeout) leaves the commit in progress inside librdkafka: it may still
        succeed, so the caller must not be told it failed (it would write the records again),
        and the next `begin` would fail with _CONFLICT. It is resumed until it is decided.
        """
        while True:
            try:
                self._producer.commit_transaction(60)
                return
            except KafkaException as exc:
                if not _undecided(exc):
                    self._abort_after(exc)
                log.warning("transaction commit not confirmed yet, resuming", extra={
                    "error": str(exc.args[0])})  # fmt: skip

    def _abort_after(self, exc: KafkaException) -> NoReturn:
        if exc.args[0].txn_requires_abort():
            self._abort()
        raise ProduceError(f"transaction failed: {exc.args[0]}") from exc

    def _abort(self) -> None:
        """Aborts the open transaction; like a commit, one that timed out is resumed."""
        while True:
            try:
                self._producer.abort_transaction(30)
                return
            except KafkaException as failed:
                if not _undecided(failed):
                    raise ProduceError(f"transaction abort failed: {failed}") from failed

    def close(self) -> None:
        self._producer.flush(10)
