"""The one consumer runner every service registers its handler with.

It owns the poll loop, decoding, dispatch, retries, the DLQ, commits and shutdown, so no
service writes its own `while True: consumer.poll()`. Within a partition, records of
different keys run concurrently while each key keeps its order (the idea of Confluent's
parallel consumer); each key may have a token bucket, so one slow Slack channel never holds
back another (the handler wraps the limited call in `record.paced()`). Offsets are
committed only below the oldest unfinished record.

Handler outcomes:
- returns: done.
- raises `RetryableError`: retried with exponential backoff, at least `retry_after` later, up
  to `max_attempts`; then dead-lettered.
- raises `PermanentError` or the value cannot be decoded: dead-lettered at once.
- raises anything else: a bug or an unforeseen failure, retried like a retryable error and
  then dead-lettered, never silently dropped.
- raises `Held`: kept unfinished (so never committed past) until `released()`, then handled
  again; its key waits, other keys go on, and the in-flight bound stops fetching if held
  records pile up (see `chassis.kafka.held`).

With `Batching`, a key whose queue has grown long hands several records to one call (a
digest), so a backlog shrinks faster than one call per record (see `chassis.kafka.batching`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from prometheus_client import Counter, Gauge, Histogram

from chassis.audit import AuditTrail, Stage
from chassis.errors import PermanentError, RetryableError
from chassis.kafka.batching import Batching, take_batch
from chassis.kafka.dlq import DeadLetters
from chassis.kafka.held import Held, wait_for_release
from chassis.kafka.record import Record
from chassis.kafka.tracker import PartitionTracker
from chassis.logcontext import correlated, correlation_from_headers
from chassis.ratelimit import TokenBucket
from chassis.serde import AvroSerde, SerdeError
from chassis.settings import KafkaSettings

log = logging.getLogger(__name__)

Handler = Callable[[Record], Awaitable[None]]

PROCESSED = Counter("mlc_records_total", "Records handled, by outcome", ["group", "outcome"])
RETRIES = Counter("mlc_record_retries_total", "Handler attempts that will be retried", ["group"])
IN_FLIGHT = Gauge("mlc_records_in_flight", "Records fetched and not yet finished", ["group"])
HANDLE_SECONDS = Histogram("mlc_handler_seconds", "Time in the handler per attempt", ["group"])


class _Outcome(Enum):
    FINISHED = "finished"  # done or dead-lettered
    AGAIN = "again"  # call the handler again
    LET_GO = "let go"  # held when stopping or revoked: unfinished, redelivered later


@dataclass(frozen=True)
class RunnerConfig:
    group_id: str
    topics: tuple[str, ...]
    max_in_flight: int = 2000
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    commit_interval: float = 1.0
    rate_per_key: float | None = None
    burst_per_key: int = 1
    shutdown_timeout: float = 30.0
    instance_id: str | None = None


class ConsumerRunner:
    def __init__(
        self,
        *,
        settings: KafkaSettings,
        config: RunnerConfig,
        handler: Handler,
        serde: AvroSerde,
        dead_letters: DeadLetters,
        audit: AuditTrail | None = None,
        entity_of: Callable[[Record], str] = lambda r: r.key or r.position,
        ordering_key: Callable[[Record], str] = lambda r: r.key or "",
        on_assigned: Callable[[], object] | None = None,
        batching: Batching | None = None,
    ) -> None:
        self._on_assigned = on_assigned
        self._batching = batching
        self._config = config
        self._handler = handler
        self._serde = serde
        self._dlq = dead_letters
        self._audit = audit
        self._entity_of = entity_of
        self._ordering_key = ordering_key
        self._consumer = Consumer(_consumer_config(settings, config))
        self._kafka_thread = ThreadPoolExecutor(1, thread_name_prefix=f"kafka-{config.group_id}")
        self._trackers: dict[tuple[str, int], PartitionTracker] = {}
        self._queues: dict[str, deque[Record]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._stopping = asyncio.Event()
        self._paused = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_commit = 0.0
        self.assigned = False

    # ---- lifecycle -------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._on_kafka(
            lambda: self._consumer.subscribe(
                list(self._config.topics),
                on_assign=self._assigned,
                on_revoke=self._revoked,
                on_lost=self._revoked,
            )
        )
        try:
            while not self._stopping.is_set():
                messages = await self._on_kafka(lambda: self._consumer.consume(500, 0.2))
                for message in messages:
                    self._accept(message)
                await self._apply_backpressure()
                if time.monotonic() - self._last_commit >= self._config.commit_interval:
                    await self._on_kafka(self._commit)
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        workers = list(self._workers.values())
        if workers:
            _, pending = await asyncio.wait(workers, timeout=self._config.shutdown_timeout)
            for task in pending:
                task.cancel()
            # What was cancelled is unfinished and will be redelivered; forget it, or the revoke
            # on close would wait another shutdown_timeout for records nothing is handling.
            self._queues.clear()
        await self._on_kafka(self._commit)
        await self._on_kafka(self._consumer.close)
        self._kafka_thread.shutdown(wait=True)
        IN_FLIGHT.labels(self._config.group_id).set(0)

    async def _on_kafka(self, call: Callable[[], Any]) -> Any:
        """The consumer is not thread-safe: every call to it runs on one dedicated thread."""
        return await asyncio.get_running_loop().run_in_executor(self._kafka_thread, call)

    # ---- intake ----------------------------------------------------------------------------

    def _accept(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.fatal():
                raise KafkaException(error)
            log.warning("consumer error", extra={"error": str(error)})
            return
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        assert topic is not None
        assert partition is not None
        assert offset is not None
        tracker = self._trackers.get((topic, partition))
        if tracker is None:  # partition revoked while the fetch was in flight
            return
        key, value = message.key(), message.value()
        record = Record(
            topic=topic,
            partition=partition,
            offset=offset,
            key=key.decode() if isinstance(key, bytes) else key,
            raw=value.encode() if isinstance(value, str) else value or b"",
            headers=[(h[0], _as_bytes(h[1])) for h in (message.headers() or [])],
        )
        tracker.started(record.offset)
        IN_FLIGHT.labels(self._config.group_id).inc()
        ordering = self._ordering_key(record)
        self._queues.setdefault(ordering, deque()).append(record)
        if ordering not in self._workers:
            self._workers[ordering] = asyncio.create_task(self._drain(ordering))

    async def _apply_backpressure(self) -> None:
        in_flight = sum(t.in_flight for t in self._trackers.values())
        if not self._paused and in_flight >= self._config.max_in_flight:
            self._paused = True
            await self._on_kafka(lambda: self._consumer.pause(self._consumer.assignment()))
        elif self._paused and in_flight < self._config.max_in_flight // 2:
            self._paused = False
            await self._on_kafka(lambda: self._consumer.resume(self._consumer.assignment()))
        if self._paused:
            await asyncio.sleep(0.05)

    # ---- per-key work ----------------------------------------------------------------------

    async def _drain(self, ordering: str) -> None:
        queue = self._queues[ordering]
        try:
            while queue:
                record = queue[0]
                if not self._owned(record):
                    queue.popleft()
                    continue
                batch = self._batch_from(queue)
                if batch:
                    outcome = await self._handle_batch(ordering, batch)
                else:
                    batch = [record]
                    outcome = await self._handle(ordering, record)
                if outcome is _Outcome.LET_GO and self._stopping.is_set():
                    break
                for _ in batch:
                    queue.popleft()
        finally:
            del self._workers[ordering]
            if not queue:
                self._queues.pop(ordering, None)

    def _bucket(self, ordering: str) -> TokenBucket | None:
        if self._config.rate_per_key is None:
            return None
        bucket = self._buckets.get(ordering)
        if bucket is None:
            bucket = TokenBucket(self._config.rate_per_key, self._config.burst_per_key)
            self._buckets[ordering] = bucket
        return bucket

    def _owned(self, record: Record) -> bool:
        return (record.topic, record.partition) in self._trackers

    def _decode_error(self, record: Record) -> str | None:
        """Decodes the value once; the reason when it cannot be decoded (a poison record)."""
        if not record.schema:
            try:
                record.schema, record.value = self._serde.decode(record.raw)
            except SerdeError as exc:
                return str(exc)
        return None

    def _batch_from(self, queue: deque[Record]) -> list[Record] | None:
        if self._batching is None:
            return None
        return take_batch(
            queue,
            self._batching,
            group=self._config.group_id,
            usable=lambda r: self._owned(r) and self._decode_error(r) is None,
        )

    async def _handle(self, ordering: str, record: Record) -> _Outcome:
        with correlated(correlation_from_headers(record.headers)):
            error = self._decode_error(record)
            if error is not None:
                await self._dead_letter(record, f"undecodable value: {error}")
                return _Outcome.FINISHED
            return await self._until_settled(
                [record], self._bucket(ordering), lambda: self._handler(record)
            )

    async def _handle_batch(self, ordering: str, batch: list[Record]) -> _Outcome:
        assert self._batching is not None
        handler = self._batching.handler
        with correlated(correlation_from_headers(batch[0].headers)):
            return await self._until_settled(batch, self._bucket(ordering), lambda: handler(batch))

    async def _until_settled(
        self,
        records: list[Record],
        bucket: TokenBucket | None,
        call: Callable[[], Awaitable[None]],
    ) -> _Outcome:
        while True:
            outcome = await self._attempt(records, bucket, call)
            if outcome is not _Outcome.AGAIN:
                return outcome

    async def _attempt(
        self,
        records: list[Record],
        bucket: TokenBucket | None,
        call: Callable[[], Awaitable[None]],
    ) -> _Outcome:
        """One call of the handler for one record or one batch."""
        group = self._config.group_id
        for record in records:
            record.attempts += 1
            if bucket is not None:
                record.paced = bucket.slot
        started = time.monotonic()
        try:
            await call()
        except Held as exc:
            return await self._hold(records, exc)
        except PermanentError as exc:
            for record in records:
                await self._dead_letter(record, f"{type(exc).__name__}: {exc}")
            return _Outcome.FINISHED
        except RetryableError as exc:
            if bucket is not None and exc.retry_after:
                bucket.penalize(exc.retry_after)
            return await self._may_retry(records, exc, exc.retry_after)
        except Exception as exc:  # decided: retried like a retryable error, then dead-lettered
            log.exception("handler failed", extra={"record": records[0].position})
            return await self._may_retry(records, exc, None)
        finally:
            HANDLE_SECONDS.labels(group).observe(time.monotonic() - started)
        PROCESSED.labels(group, "ok").inc(len(records))
        for record in records:
            self._finish(record)
        return _Outcome.FINISHED

    async def _hold(self, records: list[Record], held: Held) -> _Outcome:
        """Waits for the release; lets go (unfinished) when stopping or the partition is lost."""
        released = await wait_for_release(
            records,
            held,
            group=self._config.group_id,
            let_go=lambda: self._stopping.is_set() or not self._owned(records[0]),
        )
        if released:
            return _Outcome.AGAIN
        IN_FLIGHT.labels(self._config.group_id).dec(len(records))
        return _Outcome.LET_GO

    async def _may_retry(
        self, records: list[Record], exc: Exception, retry_after: float | None
    ) -> _Outcome:
        reason = f"{type(exc).__name__}: {exc}"
        first = records[0]
        if first.attempts >= self._config.max_attempts:
            for record in records:
                await self._dead_letter(
                    record, f"gave up after {record.attempts} attempts: {reason}"
                )
            return _Outcome.FINISHED
        RETRIES.labels(self._config.group_id).inc()
        backoff = min(self._config.backoff_max, self._config.backoff_base * 2**first.attempts)
        wait = max(retry_after or 0.0, random.uniform(backoff / 2, backoff))
        if self._audit is not None:
            for record in records:
                self._audit.record(
                    Stage.RETRIED,
                    entity_id=self._entity_of(record),
                    detail=f"attempt {record.attempts} in {wait:.1f}s: {reason}"[:500],
                )
        log.warning("will retry", extra={"record": first.position, "wait": wait, "reason": reason})
        await asyncio.sleep(wait)
        return _Outcome.AGAIN

    async def _dead_letter(self, record: Record, reason: str) -> None:
        log.error("dead-lettered", extra={"record": record.position, "reason": reason})
        await asyncio.to_thread(self._dlq.send, record, reason)
        if self._audit is not None:
            self._audit.record(
                Stage.DEAD_LETTERED, entity_id=self._entity_of(record), detail=reason[:500]
            )
        PROCESSED.labels(self._config.group_id, "dead_lettered").inc()
        self._finish(record)

    def _finish(self, record: Record) -> None:
        tracker = self._trackers.get((record.topic, record.partition))
        if tracker is not None:
            tracker.finished(record.offset)
        IN_FLIGHT.labels(self._config.group_id).dec()

    # ---- offsets and rebalances (these run on the Kafka thread) ----------------------------

    def _commit(self) -> None:
        self._last_commit = time.monotonic()
        offsets = []
        for (topic, partition), tracker in self._trackers.items():
            offset = tracker.committable()
            if offset is not None:
                offsets.append((TopicPartition(topic, partition, offset), tracker))
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=[tp for tp, _ in offsets], asynchronous=False)
        except KafkaException as exc:
            log.warning("commit failed, will try again", extra={"error": str(exc)})
            return
        for tp, tracker in offsets:
            tracker.mark_committed(tp.offset)

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if partitions and self._on_assigned is not None:
            # Before any record of the new partitions: e.g. a sink re-reads its ledger, which
            # the previous owner of these partitions wrote to.
            self._on_assigned()
        for tp in partitions:
            self._trackers[(tp.topic, tp.partition)] = PartitionTracker()
        self.assigned = True
        log.info("partitions assigned", extra={"partitions": [_name(tp) for tp in partitions]})

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Lets started records of the revoked partitions finish, commits, then lets go."""
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        if self._loop is not None and not self._loop.is_closed():
            waiting = asyncio.run_coroutine_threadsafe(self._wait_for(revoked), self._loop)
            try:
                waiting.result(timeout=self._config.shutdown_timeout)
            except TimeoutError:
                waiting.cancel()
                log.warning("revoked partitions still busy; unfinished records will be redelivered")
        self._commit()
        for key in revoked:
            self._trackers.pop(key, None)
        log.info("partitions revoked", extra={"partitions": [_name(tp) for tp in partitions]})

    async def _wait_for(self, revoked: set[tuple[str, int]]) -> None:
        # Polled: the caller is the Kafka thread, which bounds the wait with its own deadline.
        while any(  # noqa: ASYNC110
            q and (q[0].topic, q[0].partition) in revoked and q[0].attempts and not q[0].held
            for q in self._queues.values()
        ):
            await asyncio.sleep(0.02)


def _as_bytes(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else value


def _name(tp: TopicPartition) -> str:
    return f"{tp.topic}[{tp.partition}]"


def _consumer_config(settings: KafkaSettings, config: RunnerConfig) -> dict[str, Any]:
    consumer = settings.client_config(config.group_id) | {
        "group.id": config.group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": 45_000,
        "max.poll.interval.ms": 300_000,
    }
    if config.instance_id:
        consumer["group.instance.id"] = config.instance_id
    return consumer
