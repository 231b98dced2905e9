"""The one consumer runner every service registers its handler with.

It owns the poll loop, decoding, dispatch, retries, the DLQ, commits and shutdown, so no
service writes its own `while True: consumer.poll()`. Within a partition, records of
different keys run concurrently while each key keeps its order (the idea of Confluent's
parallel consumer); each key may have a token bucket, so one slow Slack channel never holds
back another (the handler wraps its side effect in `record.paced()`). Offsets are
committed only below the oldest unfinished record, and only once every write the step made
(ledger, outbox, audit) is confirmed by Kafka.

Handler outcomes:
- returns: done.
- raises `SystemUnavailable` (an outage, a 429, a 503): the external system is down, not
  this record. Its key waits (`retry_after` when the system said, else backoff) and calls
  again for as long as the outage lasts; the wait costs no attempt and no budget.
- raises another `RetryableError`: retried with exponential backoff, at least
  `retry_after` later, until the record's retry budget (`RunnerConfig.retry_budget`
  seconds from its first call, holds and outages not counted) is spent; then dead-lettered.
- raises `PermanentError` or the value cannot be decoded: dead-lettered at once.
- raises anything else: a bug or an unforeseen failure, retried like a retryable error and
  then dead-lettered, never silently dropped.
- raises `Held`: kept unfinished (so never committed past) until `released()`, then handled
  again; its key waits, other keys go on, and the in-flight bound stops fetching if held
  records pile up (see `chassis.kafka.held`).

A key that waits (held, an unavailable system, a long turn in its token bucket) for a few
seconds is published as held on `state.holds.v1` and released when its record settles
(`chassis.kafka.held_keys`), so `mlc status` shows it; that costs no round trip per record.

A record is handled only while this consumer owns its partition: every call and every
`record.paced()` checks it, and a revoke (or `stop()`) ends every wait at once, so a
record whose partition moved is let go unfinished and handled by the new owner only.

With `Batching`, a key whose queue has grown long hands several records to one call (a
digest), so a backlog shrinks faster than one call per record (see `chassis.kafka.batching`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from confluent_kafka import (
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaException,
    Message,
    TopicPartition,
)
from prometheus_client import Counter, Gauge, Histogram

from chassis.audit import AuditTrail, Stage
from chassis.errors import NotArrivedYet, PermanentError, RetryableError, SystemUnavailable
from chassis.kafka.batching import Batching, take_batch
from chassis.kafka.dlq import DeadLetters, FailureClass, PoisonRecord, failure_class
from chassis.kafka.handling import handling
from chassis.kafka.held import Held, wait_for_release
from chassis.kafka.held_keys import VISIBLE_AFTER_SECONDS, HeldKeys
from chassis.kafka.producer import Delivery, ProduceError, step_outputs
from chassis.kafka.record import HoldKind, PartitionRevoked, Record
from chassis.kafka.redriven import RedriveIntake
from chassis.kafka.tracker import PartitionTracker
from chassis.key_waits import KeyWaitReporter, reporting_key_waits
from chassis.logcontext import correlated, correlation_from_headers
from chassis.ratelimit import LatencySpread, ServerCount, TokenBucket
from chassis.serde import AvroSerde, SerdeError
from chassis.settings import KafkaSettings

log = logging.getLogger(__name__)

Handler = Callable[[Record], Awaitable[None]]

T = TypeVar("T")

SHARED_LATENCY_WINDOW = 1000
"""Recent calls (of every key) whose latency spread paces each key's next call: the earliest
the server counted any of them is the floor, so it spans tens of seconds of every key's calls,
not one round of them (a floor from a busy moment is too high once the server is quicker)."""

PROCESSED = Counter("mlc_records_total", "Records handled, by outcome", ["group", "outcome"])
RETRIES = Counter("mlc_record_retries_total", "Handler attempts that will be retried", ["group"])
OUTAGE_WAITS = Counter(
    "mlc_record_outage_waits_total", "Waits for an unavailable external system", ["group"]
)
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
    retry_budget: float = 24 * 3600.0
    """Seconds a record may keep failing, from its first call, before it is dead-lettered;
    time spent held or waiting out an outage of the external system is not counted."""
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    commit_interval: float = 1.0
    rate_per_key: float | None = None
    burst_per_key: int = 1
    idle_key_seconds: float = 600.0
    """A key's token bucket is dropped once the key has had no record for this long."""
    shutdown_timeout: float = 30.0
    instance_id: str | None = None
    confirm_timeout: float = 130.0
    """How long a step's writes may take to be confirmed before the step is retried."""
    hold_visible_after: float = VISIBLE_AFTER_SECONDS
    """Seconds a key must have waited before it is published as held (`state.holds.v1`)."""


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
        on_assigned: Callable[[list[tuple[str, int]]], object] | None = None,
        on_revoked: Callable[[list[tuple[str, int]]], object] | None = None,
        batching: Batching | None = None,
        held_keys: HeldKeys | None = None,
    ) -> None:
        """`held_keys` publishes the keys this runner holds; by default through the dead
        letters' producer to `state.holds.v1` (which `service_outputs` creates)."""
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self._batching = batching
        self._config = config
        self._handler = handler
        self._serde = serde
        self._dlq = dead_letters
        self._audit = audit
        self._entity_of = entity_of
        self._ordering_key = ordering_key
        self._consumer = Consumer(_consumer_config(settings, config))
        self._redriven = RedriveIntake(config.group_id, config.topics)
        self._held_keys = held_keys or HeldKeys(
            dead_letters.producer,
            group=config.group_id,
            instance=config.instance_id,
            visible_after=config.hold_visible_after,
        )
        self._kafka_thread = ThreadPoolExecutor(1, thread_name_prefix=f"kafka-{config.group_id}")
        self._trackers: dict[tuple[str, int], PartitionTracker] = {}
        self._queues: dict[str, deque[Record]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._buckets: dict[str, TokenBucket] = {}
        # Every key's calls go to the same server; many keys call at once, so the window holds
        # a few seconds of their calls, not one.
        self._latency = LatencySpread(window=SHARED_LATENCY_WINDOW)
        self._idle_since: dict[str, float] = {}
        """Keys whose queue ran empty, and when: their buckets go once idle long enough."""
        self._stopping = asyncio.Event()
        self._paused = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_commit = 0.0
        self.assigned = False

    # ---- lifecycle -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stops fetching and ends every wait at once; calls already running may finish."""
        self._stopping.set()
        for tracker in list(self._trackers.values()):
            tracker.disown(self._loop)

    @property
    def key_states(self) -> int:
        """Per-key queues, workers and buckets held now (bounded by the keys in use)."""
        return len(self._queues) + len(self._workers) + len(self._buckets)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._on_kafka(
            lambda: self._consumer.subscribe(
                [*self._config.topics, self._redriven.subscription],
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
                    self._drop_idle_keys(time.monotonic())
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
        if tracker is None or not tracker.owned:  # revoked while the fetch was in flight
            return
        key, value = message.key(), message.value()
        record = Record(
            topic=topic,
            partition=partition,
            offset=offset,
            key=key.decode() if isinstance(key, bytes) else key,
            raw=value.encode() if isinstance(value, str) else value or b"",
            headers=[(h[0], _as_bytes(h[1])) for h in (message.headers() or [])],
            tracker=tracker,
            timestamp_ms=_timestamp_ms(message),
        )
        self._redriven.take(record)
        tracker.started(record.offset)
        IN_FLIGHT.labels(self._config.group_id).inc()
        ordering = self._ordering_key(record)
        self._idle_since.pop(ordering, None)
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
                if not record.owned:
                    queue.popleft()
                    continue
                batch = self._batch_from(queue)
                if batch:
                    outcome = await self._handle_batch(ordering, batch)
                else:
                    batch = [record]
                    outcome = await self._handle(ordering, record)
                self._held_keys.settled(ordering)
                if outcome is _Outcome.LET_GO and self._stopping.is_set():
                    break
                for _ in batch:
                    queue.popleft()
        finally:
            self._held_keys.settled(ordering)
            del self._workers[ordering]
            if not queue:
                self._queues.pop(ordering, None)
                self._idle_since[ordering] = time.monotonic()

    def _bucket(self, ordering: str) -> TokenBucket | None:
        if self._config.rate_per_key is None:
            return None
        bucket = self._buckets.get(ordering)
        if bucket is None:
            bucket = TokenBucket(
                self._config.rate_per_key, self._config.burst_per_key, latency=self._latency
            )
            self._buckets[ordering] = bucket
        return bucket

    def _drop_idle_keys(self, now: float) -> None:
        """Forgets the buckets of keys idle for `idle_key_seconds`: memory stays bounded by the
        keys in use, not by every key ever seen. A returning key starts with a full bucket,
        which is what it would have earned by then."""
        idle = [
            key
            for key, since in self._idle_since.items()
            if now - since >= self._config.idle_key_seconds
        ]
        for key in idle:
            del self._idle_since[key]
            if key not in self._workers:
                self._buckets.pop(key, None)

    def _decode(self, record: Record) -> None:
        """Decodes the value once; an undecodable value is poison (`PoisonRecord`)."""
        if not record.schema:
            try:
                record.schema, record.value = self._serde.decode(record.raw)
            except SerdeError as exc:
                raise PoisonRecord(f"undecodable value: {exc}") from exc

    def _decodes(self, record: Record) -> bool:
        try:
            self._decode(record)
        except (PoisonRecord, RetryableError):
            return False
        return True

    def _batch_from(self, queue: deque[Record]) -> list[Record] | None:
        if self._batching is None or queue[0].origin is not None:
            return None
        return take_batch(
            queue,
            self._batching,
            group=self._config.group_id,
            # A redriven record is handled alone, as its original (`handling` names one).
            usable=lambda r: r.owned and r.origin is None and self._decodes(r),
        )

    async def _handle(self, ordering: str, record: Record) -> _Outcome:
        async def call() -> None:
            self._decode(record)
            await self._borrow_state(record)
            await self._handler(record)

        with correlated(correlation_from_headers(record.headers)), handling([record]):
            return await self._until_settled(ordering, [record], self._bucket(ordering), call)

    async def _borrow_state(self, record: Record) -> None:
        """A redriven record's state (a sink's ledger entries) is its original partition's.
        If another replica owns that partition, this one loads it (`on_assigned`, on the
        Kafka thread like every assignment) before the call, so a command that was done is
        seen as done here too; it is let go with the redrive partition."""
        source = self._redriven.to_borrow(record, self._trackers)
        on_assigned = self._on_assigned
        if source is None or on_assigned is None:
            return
        await self._on_kafka(lambda: on_assigned([source]))
        self._redriven.borrowed(source)
        log.info("loaded the state of a partition for redriven records", extra={"source": source})

    async def _handle_batch(self, ordering: str, batch: list[Record]) -> _Outcome:
        assert self._batching is not None
        handler = self._batching.handler
        with correlated(correlation_from_headers(batch[0].headers)), handling(batch):
            return await self._until_settled(
                ordering, batch, self._bucket(ordering), lambda: handler(batch)
            )

    async def _until_settled(
        self,
        ordering: str,
        records: list[Record],
        bucket: TokenBucket | None,
        call: Callable[[], Awaitable[None]],
    ) -> _Outcome:
        while True:
            outcome = await self._attempt(ordering, records, bucket, call)
            if outcome is not _Outcome.AGAIN:
                return outcome

    async def _attempt(
        self,
        ordering: str,
        records: list[Record],
        bucket: TokenBucket | None,
        call: Callable[[], Awaitable[None]],
    ) -> _Outcome:
        """One call of the handler for one record or one batch, if the partition is still ours."""
        if not all(record.owned for record in records):
            return self._let_go(records)
        group = self._config.group_id
        started = time.monotonic()
        for record in records:
            record.attempts += 1
            if record.retry_deadline is None:
                record.retry_deadline = started + self._config.retry_budget
            record.paced = _side_effect_slot(record, bucket, self._pacing_watch(ordering, record))
        try:
            with step_outputs() as outputs:
                for record in records:
                    record.calling = True
                try:
                    with reporting_key_waits(self._handler_waits(ordering, records[0])):
                        await call()
                finally:
                    for record in records:
                        record.calling = False
            await self._confirmed(outputs)
        except Exception as exc:  # noqa: BLE001 - decided: each kind has its outcome in _after_failure
            return await self._after_failure(ordering, records, bucket, exc)
        finally:
            HANDLE_SECONDS.labels(group).observe(time.monotonic() - started)
        PROCESSED.labels(group, "ok").inc(len(records))
        for record in records:
            record.outages = 0
            self._finish(record)
        return _Outcome.FINISHED

    async def _after_failure(
        self, ordering: str, records: list[Record], bucket: TokenBucket | None, exc: Exception
    ) -> _Outcome:
        if isinstance(exc, PartitionRevoked):
            return self._let_go(records)
        if isinstance(exc, Held):
            return await self._hold(ordering, records, exc)
        if isinstance(exc, PoisonRecord):
            return await self._dead_letter(records, FailureClass.POISON, str(exc))
        if isinstance(exc, PermanentError):
            return await self._dead_letter(
                records, failure_class(exc), f"{type(exc).__name__}: {exc}"
            )
        if isinstance(exc, RetryableError):
            if bucket is not None and exc.retry_after:
                bucket.penalize(exc.retry_after)
            if isinstance(exc, SystemUnavailable):
                return await self._outage(ordering, records, exc)
            return await self._may_retry(records, exc, exc.retry_after)
        # A bug or an unforeseen failure: retried like a retryable error, then dead-lettered.
        log.error("handler failed", exc_info=exc, extra={"record": records[0].position})
        return await self._may_retry(records, exc, None)

    async def _confirmed(self, outputs: list[Delivery]) -> None:
        """Raises `ProduceError` unless Kafka confirmed every write of the step."""
        if not outputs:
            return
        waiting = [asyncio.wrap_future(delivery) for delivery in outputs]
        done, pending = await asyncio.wait(waiting, timeout=self._config.confirm_timeout)
        for future in pending:
            future.cancel()
        errors = [str(f.exception()) for f in done if f.exception() is not None]
        if pending:
            errors.append(f"{len(pending)} writes not confirmed")
        if errors:
            raise ProduceError("step outputs not confirmed: " + "; ".join(errors[:3]))

    def _let_go(self, records: list[Record]) -> _Outcome:
        """Leaves the records unfinished: they are redelivered (to whoever owns them next)."""
        IN_FLIGHT.labels(self._config.group_id).dec(len(records))
        return _Outcome.LET_GO

    async def _wait(self, records: list[Record], seconds: float) -> bool:
        """Waits `seconds` between calls; False at once if the partition is lost meanwhile."""
        tracker = records[0].tracker
        if tracker is None:
            await asyncio.sleep(seconds)
            return not self._stopping.is_set()
        try:
            await asyncio.wait_for(tracker.lost.wait(), timeout=seconds)
        except TimeoutError:
            return tracker.owned
        return False

    async def _hold(self, ordering: str, records: list[Record], held: Held) -> _Outcome:
        """Waits for the release; lets go (unfinished) when stopping or the partition is lost."""
        started = time.monotonic()
        first = records[0]
        self._held_keys.waiting(
            ordering, kind=held.kind, reason=str(held), until=held.until,
            partition=(first.topic, first.partition),
        )  # fmt: skip
        try:
            released = await wait_for_release(
                records,
                held,
                group=self._config.group_id,
                let_go=lambda: self._stopping.is_set() or not records[0].owned,
            )
        finally:
            self._held_keys.wait_over(ordering)
        if not released:
            return self._let_go(records)
        _extend_budget(records, time.monotonic() - started)
        return _Outcome.AGAIN

    async def _outage(
        self, ordering: str, records: list[Record], exc: SystemUnavailable
    ) -> _Outcome:
        """The external system is down or throttling: wait as it says, at no cost to the
        records, and call again; let go if the partition is lost meanwhile."""
        first = records[0]
        for record in records:
            record.attempts -= 1  # an outage is no failed attempt: it must never dead-letter
            record.outages += 1
        reason = f"{type(exc).__name__}: {exc}"
        wait = exc.retry_after if exc.retry_after is not None else self._backoff(first.outages)
        if first.outages == 1:
            log.warning(
                "external system unavailable; the key waits",
                extra={"record": first.position, "wait": wait, "reason": reason},
            )
            if self._audit is not None:
                for record in records:
                    self._audit.record(
                        Stage.HELD,
                        entity_id=self._entity_of(record),
                        detail=f"waiting out an unavailable system: {reason}"[:500],
                    )
        OUTAGE_WAITS.labels(self._config.group_id).inc()
        started = time.monotonic()
        self._held_keys.waiting(
            ordering,
            kind=HoldKind.UNAVAILABLE if exc.retry_after is None else HoldKind.RATE_LIMITED,
            reason=reason,
            until=datetime.now(UTC) + timedelta(seconds=wait),
            partition=(first.topic, first.partition),
        )
        try:
            waited = await self._wait(records, wait)
        finally:
            self._held_keys.wait_over(ordering)
        if not waited:
            return self._let_go(records)
        _extend_budget(records, time.monotonic() - started)
        return _Outcome.AGAIN

    def _handler_waits(self, ordering: str, record: Record) -> KeyWaitReporter:
        """Where a wait inside the handler (a spent call budget) reports that the key waits."""
        return _HandlerWaits(self._held_keys, ordering, (record.topic, record.partition))

    def _pacing_watch(self, ordering: str, record: Record) -> _PacingWatch:
        """Tells `held_keys` when the key waits for its token bucket, so a long turn shows."""

        def waiting() -> None:
            self._held_keys.waiting(
                ordering, kind=HoldKind.RATE_LIMITED, reason="waiting for its turn (pace)",
                partition=(record.topic, record.partition),
            )  # fmt: skip

        return waiting, lambda: self._held_keys.wait_over(ordering)

    def _backoff(self, failures: int) -> float:
        backoff = min(self._config.backoff_max, self._config.backoff_base * 2**failures)
        return random.uniform(backoff / 2, backoff)

    async def _may_retry(
        self, records: list[Record], exc: Exception, retry_after: float | None
    ) -> _Outcome:
        reason = f"{type(exc).__name__}: {exc}"
        first = records[0]
        if first.out_of_time(time.monotonic()):
            budget = self._config.retry_budget
            return await self._dead_letter(
                records,
                failure_class(exc, budget_spent=True),
                f"retry budget of {budget:g}s spent after {first.attempts} attempts: {reason}",
            )
        RETRIES.labels(self._config.group_id).inc()
        wait = max(retry_after or 0.0, self._backoff(first.attempts))
        if self._audit is not None and not isinstance(exc, NotArrivedYet):
            for record in records:
                self._audit.record(
                    Stage.RETRIED,
                    entity_id=self._entity_of(record),
                    detail=f"attempt {record.attempts} in {wait:.1f}s: {reason}"[:500],
                )
        log.warning("will retry", extra={"record": first.position, "wait": wait, "reason": reason})
        if not await self._wait(records, wait):
            return self._let_go(records)
        return _Outcome.AGAIN

    async def _dead_letter(
        self, records: list[Record], failure: FailureClass, reason: str
    ) -> _Outcome:
        """Writes the records to the DLQ and audits it; finished once both are confirmed (if
        Kafka refuses, the records are called again after a backoff, never dropped)."""
        try:
            with step_outputs() as outputs:
                for record in records:
                    log.error(
                        "dead-lettered",
                        extra={"record": record.position, "class": failure, "reason": reason},
                    )
                    await asyncio.to_thread(self._dlq.send, record, failure=failure, reason=reason)
                    if self._audit is not None:
                        self._audit.record(
                            Stage.DEAD_LETTERED,
                            entity_id=self._entity_of(record),
                            detail=reason[:500],
                        )
            await self._confirmed(outputs)
        except ProduceError as exc:
            log.error(
                "dead-lettering failed", extra={"record": records[0].position, "error": str(exc)}
            )
            if not await self._wait(records, self._backoff(records[0].attempts)):
                return self._let_go(records)
            return _Outcome.AGAIN
        PROCESSED.labels(self._config.group_id, "dead_lettered").inc(len(records))
        for record in records:
            self._finish(record)
        return _Outcome.FINISHED

    def _finish(self, record: Record) -> None:
        tracker = record.tracker or self._trackers.get((record.topic, record.partition))
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
        inputs = self._redriven.stateful((tp.topic, tp.partition) for tp in partitions)
        if inputs and self._on_assigned is not None:
            # Before any record of the new partitions: e.g. a sink reads their ledger entries,
            # which the previous owner of these partitions wrote. The redrive topic has no
            # state of its own: a redriven record's is its original partition's.
            self._on_assigned(inputs)
        for tp in partitions:
            self._trackers[(tp.topic, tp.partition)] = PartitionTracker()
        self._redriven.owned_now(inputs)  # loaded above
        member = consumer.memberid()
        if member and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._held_keys.joined_as, member)
        self.assigned = True
        log.info("partitions assigned", extra={"partitions": [_name(tp) for tp in partitions]})

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Ends ownership at once (waits end, no new call starts), lets calls already running
        finish, commits what finished, then lets go."""
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        for key in revoked:
            tracker = self._trackers.get(key)
            if tracker is not None:
                tracker.disown(self._loop)
        if self._loop is not None and not self._loop.is_closed():
            waiting = asyncio.run_coroutine_threadsafe(self._wait_for(revoked), self._loop)
            try:
                waiting.result(timeout=self._config.shutdown_timeout)
            except TimeoutError:
                waiting.cancel()
                log.warning("revoked partitions still busy; unfinished records will be redelivered")
            self._release_held_keys(revoked)
        self._commit()
        for key in revoked:
            self._trackers.pop(key, None)
        inputs = self._redriven.let_go(revoked)
        if inputs and self._on_revoked is not None:
            # After the last commit: e.g. a sink forgets these partitions' ledger entries
            # (the next owner writes them; they are read again if the partitions come back).
            self._on_revoked(inputs)
        log.info("partitions revoked", extra={"partitions": [_name(tp) for tp in partitions]})

    def _release_held_keys(self, revoked: set[tuple[str, int]]) -> None:
        """Tombstones the held keys of revoked partitions and waits (on the Kafka thread, so
        before the partitions go) for Kafka to confirm them: the next owner's holds of those
        keys are written after, never overwritten by these tombstones."""
        assert self._loop is not None

        async def release() -> None:
            deliveries = self._held_keys.release_partitions(revoked)
            if deliveries:
                await asyncio.wait(
                    [asyncio.wrap_future(d) for d in deliveries],
                    timeout=self._config.shutdown_timeout,
                )

        releasing = asyncio.run_coroutine_threadsafe(release(), self._loop)
        try:
            releasing.result(timeout=self._config.shutdown_timeout + 1.0)
        except TimeoutError:
            releasing.cancel()
            log.warning("tombstones of held keys not confirmed before the revoke")

    async def _wait_for(self, revoked: set[tuple[str, int]]) -> None:
        """Until no handler call of a revoked partition runs (waits end by themselves)."""
        # Polled: the caller is the Kafka thread, which bounds the wait with its own deadline.
        while any(  # noqa: ASYNC110
            q and (q[0].topic, q[0].partition) in revoked and q[0].calling
            for q in self._queues.values()
        ):
            await asyncio.sleep(0.02)


@dataclass(frozen=True)
class _HandlerWaits:
    """A `KeyWaitReporter` for one handler call: the key's waits go to `held_keys`."""

    held_keys: HeldKeys
    key: str
    partition: tuple[str, int]

    def started(self, kind: HoldKind, reason: str, until: datetime | None) -> None:
        self.held_keys.waiting(
            self.key, kind=kind, reason=reason, until=until, partition=self.partition
        )

    def over(self) -> None:
        self.held_keys.wait_over(self.key)


def _extend_budget(records: list[Record], seconds: float) -> None:
    """A hold or an outage is not the record's failure: its budget moves out by as long."""
    for record in records:
        if record.retry_deadline is not None:
            record.retry_deadline += seconds


_PacingWatch = tuple[Callable[[], None], Callable[[], None]]
"""Called when a key starts waiting for its token bucket, and when the wait is over."""


def _side_effect_slot(
    record: Record, bucket: TokenBucket | None, watch: _PacingWatch
) -> Callable[[], AbstractAsyncContextManager[ServerCount]]:
    """`record.paced`: waits for the key's pacing slot unless the partition is lost first,
    and refuses (`PartitionRevoked`) to let a side effect start on a partition not ours."""

    @asynccontextmanager
    async def slot() -> AsyncIterator[ServerCount]:
        async with AsyncExitStack() as stack:
            count = ServerCount()
            if bucket is not None:
                started, over = watch
                started()
                try:
                    count = await _unless_lost(record, stack.enter_async_context(bucket.slot()))
                finally:
                    over()
            if not record.owned:
                raise PartitionRevoked(f"{record.position}: partition no longer ours")
            yield count

    return slot


async def _unless_lost(record: Record, waiting: Awaitable[T]) -> T:
    tracker = record.tracker
    task = asyncio.ensure_future(waiting)
    if tracker is None:
        return await task
    lost = asyncio.ensure_future(tracker.lost.wait())
    try:
        await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        lost.cancel()
    if not task.done():
        task.cancel()
        raise PartitionRevoked(f"{record.position}: partition lost while waiting for a slot")
    return task.result()


def _as_bytes(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else value


def _timestamp_ms(message: Message) -> int | None:
    kind, stamp = message.timestamp()
    return None if kind == TIMESTAMP_NOT_AVAILABLE else stamp


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
