"""Topics are declared once in code and created idempotently at start-up.

A declaration names the topic, its partitions, its retention and whether it is compacted.
Creating a topic that exists is not an error; an existing topic with fewer partitions than
declared is reported, never silently repartitioned (that would break per-key ordering).
Every topic gets the one replication factor of `KafkaSettings` (`KAFKA_REPLICATION_FACTOR`)
unless a caller names another.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from chassis.kafka.client_errors import latest_refusal
from chassis.settings import KafkaSettings

log = logging.getLogger(__name__)

DAY_MS = 24 * 60 * 60 * 1000
LEADER_WAIT_SECONDS = 120.0
"""How long a service at start waits for the topics it created to get leaders: a broker that
is itself starting, or busy, may take tens of seconds (CI saw more than 30 s under load)."""
LEADER_WARN_SECONDS = 10.0


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int = 30 * DAY_MS
    compacted: bool = False

    def config(self) -> dict[str, str]:
        if self.compacted:
            return {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}
        return {"cleanup.policy": "delete", "retention.ms": str(self.retention_ms)}


def dead_letter_topic(group: str) -> TopicSpec:
    """Each consumer group has its own DLQ, so a redrive goes back to exactly that group."""
    return TopicSpec(f"dlq.{group}.v1", partitions=1, retention_ms=90 * DAY_MS)


def redrive_topic(group: str) -> TopicSpec:
    """The records `mlc dlq redrive` puts back for `group`: only that group's runner reads it,
    so a redrive reaches exactly the group that failed and no consumer filters anything.
    One partition, and kept as long as the DLQ it is fed from: a redriven record is marked
    redriven, so it must outlast a group that is stopped for a while."""
    return TopicSpec(f"redrive.{group}.v1", partitions=1, retention_ms=90 * DAY_MS)


DLQ_REDRIVEN = TopicSpec("state.dlq-redriven.v1", partitions=1, compacted=True)
"""Dead letters put back by `mlc dlq redrive`, keyed by dead-letter id (`<group>:<partition>:
<offset>`), written in the same transaction as the redriven record: a second redrive of the
same dead letter finds the mark and does nothing."""


def redrive_subscription(group: str) -> str:
    """A pattern for `group`'s redrive topic: a consumer subscribed to it starts without the
    topic existing yet (no error) and takes it on once it does."""
    literal = "".join(c if c.isalnum() else f"[{c}]" for c in redrive_topic(group).name)
    return f"^{literal}$"


class TopicError(Exception):
    """A topic could not be created or does not match its declaration."""


def ensure_topics(
    admin: AdminClient,
    specs: Iterable[TopicSpec],
    *,
    replication_factor: int | None = None,
    timeout: float = 30.0,
    leader_timeout: float = LEADER_WAIT_SECONDS,
) -> None:
    """Creates the missing topics; `replication_factor` defaults to KafkaSettings'. `timeout`
    bounds each request; `leader_timeout` how long new topics may take to get their leaders."""
    if replication_factor is None:
        replication_factor = KafkaSettings().replication_factor
    wanted = {spec.name: spec for spec in specs}
    existing = _list_topics(admin, timeout)
    for name, spec in wanted.items():
        if name in existing and len(existing[name].partitions) < spec.partitions:
            raise TopicError(
                f"topic {name} has {len(existing[name].partitions)} partitions, "
                f"declared {spec.partitions}"
            )
    missing = [
        NewTopic(
            s.name,
            num_partitions=s.partitions,
            replication_factor=replication_factor,
            config=s.config(),
        )
        for name, s in wanted.items()
        if name not in existing
    ]
    if not missing:
        return
    for name, future in admin.create_topics(missing, request_timeout=timeout).items():
        try:
            future.result()
            log.info("topic created", extra={"topic": name})
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise TopicError(f"cannot create topic {name}: {exc}") from exc
    _wait_for_leaders(admin, [t.topic for t in missing], leader_timeout)


def _list_topics(admin: AdminClient, timeout: float) -> dict[str, Any]:
    """The broker's topics; a refused login fails as itself, not as a transport timeout."""
    started = time.monotonic()
    try:
        topics: dict[str, Any] = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        admin.poll(0)  # serves the error callback that records a refused login
        refusal = latest_refusal(since=started)
        if refusal is not None:
            raise refusal from exc
        raise
    return topics


def _wait_for_leaders(admin: AdminClient, names: list[str], timeout: float) -> None:
    """A created topic is usable once every partition has a leader; until then reads fail."""
    deadline = time.monotonic() + timeout
    warned = False
    while True:
        topics = admin.list_topics(timeout=min(timeout, 30.0)).topics
        if all(
            name in topics
            and topics[name].partitions
            and all(p.leader >= 0 for p in topics[name].partitions.values())
            for name in names
        ):
            return
        now = time.monotonic()
        if now > deadline:
            raise TopicError(f"topics {names} have no leader after {timeout}s")
        if not warned and now > deadline - timeout + LEADER_WARN_SECONDS:
            warned = True
            log.warning(
                "new topics have no leader yet; waiting",
                extra={"topics": len(names), "wait_seconds": timeout},
            )
        time.sleep(0.1)
