"""A live, in-memory view of compacted topics: every key's newest value, kept up to date.

Processors enrich events with reference data (vendor names, approver emails, account names)
that arrives on compacted topics. Every replica needs every key, whatever partitions it owns
of its own input, so the view reads all partitions of its topics from the start and then
follows them, on a thread of its own. `wait_for` lets a caller wait, bounded, for a key that
has not arrived yet. A tombstone removes the key (a ledger entry that expired); `on_removed`
tells an index built from the values to drop it too, so the view stays as bounded as the topic.
`read_through` says up to when every partition has been read (a reader can then tell that a
key written before that time would be here by now).

A view whose reader dies (the topic cannot be read, a callback fails) does not go quiet: it
logs why at error level, `failure` says so, and every wait on it raises `ViewFailedError`,
so the service using it stops and exits instead of serving stale values (`chassis.service`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Generic, TypeVar

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from chassis.errors import RetryableError
from chassis.kafka.state import watermarks
from chassis.settings import KafkaSettings

V = TypeVar("V")
log = logging.getLogger(__name__)


class ViewFailedError(RetryableError):
    """The view's reader stopped on an error: its values no longer follow the topics. Only a
    new reader (a restart of the process) can help."""


class CompactedView(Generic[V]):
    def __init__(
        self,
        settings: KafkaSettings,
        topics: list[str],
        *,
        decode: Callable[[bytes], V],
        client: str,
        on_removed: Callable[[str], object] | None = None,
    ) -> None:
        self._settings = settings
        self._on_removed = on_removed
        self._topics = topics
        self._decode = decode
        self._client = client
        self._values: dict[str, V] = {}
        self._partitions: dict[str, int] = {}
        self._changed = threading.Condition()
        self._caught_up = threading.Event()
        self._stopping = threading.Event()
        self._failure: ViewFailedError | None = None
        self._read_ms: dict[tuple[str, int], int | None] = {}
        """Per partition: the timestamp of the last record read, None while at its end."""
        self._thread = threading.Thread(target=self._follow, name=f"{client}-view", daemon=True)

    def start(self) -> CompactedView[V]:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(10)

    def get(self, key: str) -> V | None:
        return self._values.get(key)

    def partition_of(self, key: str) -> int | None:
        """The partition the key's newest value was read from (a ledger entry's partition is
        its command's, which its key does not tell)."""
        return self._partitions.get(key)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def failure(self) -> ViewFailedError | None:
        """Why the view stopped following its topics, if it did."""
        return self._failure

    def wait_until_caught_up(self, timeout: float) -> bool:
        """True once everything that was in the topics at start has been read; raises
        `ViewFailedError` if the view died (it never will)."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._caught_up.is_set() or self._failure is not None, timeout
            )
        if self._failure is not None:
            raise self._failure
        return self._caught_up.is_set()

    def read_through(self) -> datetime | None:
        """The time before which every record of the topics has been read (a partition at
        its end counts as read up to now); None until caught up or once failed."""
        if not self._caught_up.is_set() or self._failure is not None:
            return None
        behind = [ms for ms in list(self._read_ms.values()) if ms is not None]
        return datetime.fromtimestamp(min(behind, default=time.time() * 1000) / 1000, UTC)

    def wait_for(self, key: str, timeout: float) -> V | None:
        """The key's value, waiting up to `timeout` seconds for it to arrive."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while key not in self._values:
                if self._failure is not None:
                    raise self._failure
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
            return self._values[key]

    def _follow(self) -> None:
        try:
            self._read()
        except Exception as exc:  # decided: the view is dead; it says why and wakes every waiter
            reason = f"{type(exc).__name__}: {exc}"
            where = {"view": self._client, "topics": self._topics, "reason": reason}
            log.error("compacted view failed", exc_info=exc, extra=where)
            with self._changed:
                self._failure = ViewFailedError(f"view {self._client} stopped: {reason}")
                self._changed.notify_all()

    def _read(self) -> None:
        config = self._settings.client_config(self._client) | {
            "group.id": f"{self._client}-view",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
        consumer = Consumer(config)
        try:
            ends = self._assign_all(consumer)
            while not self._stopping.is_set():
                message = consumer.poll(0.2)
                if message is not None:
                    self._take(message)
                if not self._caught_up.is_set():
                    wanted = [TopicPartition(t, p) for t, p in ends]
                    positions = consumer.position(wanted) if wanted else []
                    if all(tp.offset >= ends[(tp.topic, tp.partition)] for tp in positions):
                        with self._changed:
                            self._caught_up.set()
                            self._changed.notify_all()
        finally:
            consumer.close()

    def _take(self, message: Message) -> None:
        where = (message.topic() or "", message.partition() or 0)
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                self._read_ms[where] = None
            return
        key, value = message.key(), message.value()
        if key is not None:
            self._apply(key.decode() if isinstance(key, bytes) else key, value, where[1])
        self._read_ms[where] = message.timestamp()[1]  # once applied: `read_through` promises it

    def _apply(self, name: str, value: bytes | str | None, partition: int) -> None:
        try:
            decoded = self._decode(value) if isinstance(value, bytes) else None
        except Exception:  # decided: an unreadable reference is reported and left out,
            # the view (and every enrichment after it) goes on with the rest.
            log.exception("unreadable reference record skipped", extra={"key": name})
            return
        with self._changed:
            if decoded is None:  # a tombstone
                self._values.pop(name, None)
                self._partitions.pop(name, None)
                if self._on_removed is not None:
                    self._on_removed(name)
            else:
                self._values[name] = decoded
                self._partitions[name] = partition
            self._changed.notify_all()

    def _assign_all(self, consumer: Consumer) -> dict[tuple[str, int], int]:
        """Assigns every partition from its start; returns the end offsets to catch up to."""
        assignment, ends = [], {}
        metadata = consumer.list_topics(timeout=30).topics
        for topic in self._topics:
            for partition in metadata[topic].partitions if topic in metadata else {}:
                low, high = watermarks(consumer, TopicPartition(topic, partition))
                assignment.append(TopicPartition(topic, partition, low))
                self._read_ms[(topic, partition)] = 0 if high > low else None
                if high > low:
                    ends[(topic, partition)] = high
        consumer.assign(assignment)
        return ends
