"""The keys a runner holds, published on the broker so `mlc status` can show them.

A held key lives only in its runner's memory (its records wait, uncommitted); without this
module an operator sees nothing of it but a lag. `HeldKeys` writes one record to the
compacted `state.holds.v1` when a key becomes held (key: group and key; value: `HeldKey`:
kind, reason, since, until if known, and the holder's group member id) and a tombstone when
it is released. Writes happen on transitions only, never per retry or per record, and
never block a record: each write is sent and its confirmation by Kafka handled on the side
(a write Kafka refuses is sent again, with the key's state of that moment).

What counts as held: a key whose records have been waiting for `visible_after` seconds
(default `VISIBLE_AFTER_SECONDS`) in one episode, an episode being everything from the first
wait of a record (a `Held`, an unavailable system, its token bucket, a spent call budget
inside the handler: `chassis.key_waits`) until that record is done or let go. A key
waiting its turn in a token bucket for less than that is paced, not held: the Slack sink
paces each channel at one message a second, so a busy channel waits about a second before
every message, all day, and would otherwise flap held/released with two writes a message.
Two seconds is above every pace a sink sets and far below any wait an operator cares about
(a 429's Retry-After, a refused credential, a spent daily limit).

A hold outlives a process killed without a goodbye (SIGKILL): its record stays. Each record
names the group member that wrote it, and `mlc status` shows only the holds of members the
group still has (`live_holds`); a runner that rejoins under a new member id writes its holds
again. On a revoke the runner tombstones the holds of the revoked partitions and waits for
Kafka's confirmation before it lets the partitions go, so the next owner's record of a key
is never followed by the old owner's tombstone.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from prometheus_client import Counter, Gauge
from pydantic import BaseModel, ConfigDict, ValidationError

from chassis.kafka.producer import ProduceError
from chassis.kafka.record import HoldKind
from chassis.kafka.state import read_newest
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec

__all__ = [
    "HOLDS_TOPIC",
    "VISIBLE_AFTER_SECONDS",
    "HeldKey",
    "HeldKeys",
    "live_holds",
    "read_held_keys",
]

log = logging.getLogger(__name__)

HOLDS_TOPIC = TopicSpec("state.holds.v1", partitions=3, compacted=True)
VISIBLE_AFTER_SECONDS = 2.0
RESEND_SECONDS = 1.0
"""How long after a write Kafka refused the key's state of that moment is sent again,
doubled after each refusal in a row up to `RESEND_MAX_SECONDS`."""
RESEND_MAX_SECONDS = 60.0

HELD_KEYS = Gauge("mlc_held_keys", "Keys published as held (state.holds.v1)", ["group"])
HOLD_WRITES = Counter(
    "mlc_hold_writes_total", "Writes to state.holds.v1, by what they say", ["group", "write"]
)


class HeldKey(BaseModel):
    """The value of one held key in `state.holds.v1`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group: str
    key: str
    kind: HoldKind
    reason: str
    since: datetime
    until: datetime | None = None
    member: str
    """The consumer group member id of the runner holding it (see `live_holds`)."""
    instance: str | None = None
    """The runner's static membership id (`group.instance.id`), if it has one."""


def record_key(group: str, key: str) -> str:
    """The compacted topic's key: one record per key of a group (unambiguous for any ids)."""
    return json.dumps([group, key], separators=(",", ":"))


class Sender(Protocol):
    """What `EventProducer` offers: one write, resolved when Kafka confirms it."""

    def send(self, topic: str, *, key: str | None, value: bytes | None) -> Future[None]: ...


class Scheduled(Protocol):
    def cancel(self) -> None: ...


Schedule = Callable[[float, Callable[[], None]], Scheduled]


def _call_later(delay: float, callback: Callable[[], None]) -> Scheduled:
    # An empty context: a write made by the timer is no output of the step it fires during
    # (`chassis.kafka.producer.step_outputs`), which would otherwise wait for it.
    return asyncio.get_running_loop().call_later(delay, callback, context=contextvars.Context())


@dataclass
class _Episode:
    """One key's waits, from the first wait of a record until that record settles."""

    kind: HoldKind
    reason: str
    started: float
    since: datetime
    until: datetime | None
    partition: tuple[str, int] | None
    timer: Scheduled | None = None
    published: bool = False


class HeldKeys:
    """Publishes the keys one runner (one group) holds; every method runs on its event loop."""

    def __init__(
        self,
        sender: Sender,
        *,
        group: str,
        instance: str | None = None,
        topic: str = HOLDS_TOPIC.name,
        visible_after: float = VISIBLE_AFTER_SECONDS,
        schedule: Schedule = _call_later,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sender = sender
        self._group = group
        self._instance = instance
        self._topic = topic
        self._visible_after = visible_after
        self._schedule = schedule
        self._clock = clock
        self._now = now
        self._episodes: dict[str, _Episode] = {}
        self._member = ""
        self._refusals: dict[str, int] = {}
        self.writes = 0
        """Writes sent so far (held records and tombstones, resends included)."""

    @property
    def held(self) -> list[HeldKey]:
        """The keys published as held now."""
        return [self._value(k, e) for k, e in self._episodes.items() if e.published]

    def joined_as(self, member: str) -> None:
        """The runner's member id in its group; holds already published are written again
        under a new one, so `mlc status` keeps showing them."""
        if member == self._member:
            return
        self._member = member
        for key, episode in self._episodes.items():
            if episode.published:
                self._write(key, episode)

    def waiting(
        self,
        key: str,
        *,
        kind: HoldKind,
        reason: str,
        until: datetime | None = None,
        partition: tuple[str, int] | None = None,
    ) -> None:
        """A record of `key` starts a wait (expected to end at `until`, if known). Published
        once the key's episode has lasted `visible_after`; a published key is written again
        only if the kind of its wait changes."""
        episode = self._episodes.get(key)
        if episode is None:
            episode = self._episodes[key] = _Episode(
                kind, reason, self._clock(), self._now(), until, partition
            )
        if episode.published:
            if kind is not episode.kind:
                episode.kind, episode.reason, episode.until = kind, reason, until
                self._write(key, episode)
            return
        episode.kind, episode.reason, episode.until = kind, reason, until
        due = episode.started + self._visible_after - self._clock()
        if until is not None and (until - self._now()).total_seconds() < due:
            return  # over before the episode would be visible: a short wait
        if due <= 0:  # the episode has lasted long enough already
            self._visible(key, episode)
        elif episode.timer is None:
            episode.timer = self._schedule(due, lambda: self._visible(key, episode))

    def wait_over(self, key: str) -> None:
        """The wait ended (released, its time elapsed, or a token taken); the key's record is
        called again. A published key stays published until the record settles."""
        episode = self._episodes.get(key)
        if episode is not None and episode.timer is not None:
            episode.timer.cancel()
            episode.timer = None

    def settled(self, key: str) -> None:
        """The key's record is done, dead-lettered or let go: its episode ends (a tombstone
        if it was published). Costs a dict lookup for a key that never waited."""
        episode = self._episodes.pop(key, None)
        if episode is None:
            return
        if episode.timer is not None:
            episode.timer.cancel()
        if episode.published:
            self._tombstone(key)

    def release_partitions(self, partitions: Collection[tuple[str, int]]) -> list[Future[None]]:
        """Ends the episodes of keys whose records came from `partitions` (revoked); returns
        the tombstones' deliveries for the caller to await before letting the partitions go."""
        deliveries = []
        for key, episode in list(self._episodes.items()):
            if episode.partition in partitions:
                del self._episodes[key]
                if episode.timer is not None:
                    episode.timer.cancel()
                if episode.published:
                    deliveries.append(self._tombstone(key))
        return deliveries

    def _visible(self, key: str, episode: _Episode) -> None:
        if episode.timer is not None:
            episode.timer.cancel()
            episode.timer = None
        if self._episodes.get(key) is episode and not episode.published:
            episode.published = True
            self._write(key, episode)

    def _value(self, key: str, episode: _Episode) -> HeldKey:
        return HeldKey(
            group=self._group, key=key, kind=episode.kind, reason=episode.reason[:500],
            since=episode.since, until=episode.until, member=self._member,
            instance=self._instance,
        )  # fmt: skip

    def _write(self, key: str, episode: _Episode) -> Future[None]:
        HOLD_WRITES.labels(self._group, "held").inc()
        return self._send(key, self._value(key, episode).model_dump_json().encode())

    def _tombstone(self, key: str) -> Future[None]:
        HOLD_WRITES.labels(self._group, "released").inc()
        return self._send(key, None)

    def _send(self, key: str, value: bytes | None) -> Future[None]:
        self.writes += 1
        HELD_KEYS.labels(self._group).set(sum(e.published for e in self._episodes.values()))
        loop = asyncio.get_running_loop()
        try:
            delivery = self._sender.send(self._topic, key=record_key(self._group, key), value=value)
        except ProduceError as exc:  # not queued: sent again later, like a refused write
            delivery = Future()
            delivery.set_exception(exc)
        delivery.add_done_callback(lambda done: self._report(loop, key, done))
        return delivery

    def _report(self, loop: asyncio.AbstractEventLoop, key: str, delivery: Future[None]) -> None:
        """On the producer's report thread: back to the loop, unless it has ended (a write
        confirmed while the service closes its producer after the runner stopped)."""
        if not loop.is_closed():
            loop.call_soon_threadsafe(self._confirmed, key, delivery)

    def _confirmed(self, key: str, delivery: Future[None]) -> None:
        error = delivery.exception()
        if error is None:
            self._refusals.pop(key, None)
            return
        HOLD_WRITES.labels(self._group, "refused").inc()
        refusals = self._refusals[key] = self._refusals.get(key, 0) + 1
        wait = min(RESEND_SECONDS * 2 ** (refusals - 1), RESEND_MAX_SECONDS)
        log.warning("a held key's state was not written; sending it again",
                    extra={"key": key, "error": str(error), "wait": wait})  # fmt: skip
        self._schedule(wait, lambda: self._resend(key))

    def _resend(self, key: str) -> None:
        """Writes the key's state as it is now: its hold, or a tombstone if it has none."""
        episode = self._episodes.get(key)
        if episode is not None and episode.published:
            self._write(key, episode)
        elif episode is None:
            self._tombstone(key)


def read_held_keys(
    settings: KafkaSettings, *, client: str, topic: str = HOLDS_TOPIC.name
) -> list[HeldKey]:
    """Every hold on the topic now (tombstoned keys left out); an undecodable value is
    skipped with a warning. Raises `chassis.kafka.state.StateLoadError` if it cannot be read."""
    newest = read_newest(settings, topic, client=client, partitions=range(HOLDS_TOPIC.partitions))
    holds = []
    for record in newest.values():
        if record.value is None:
            continue
        try:
            holds.append(HeldKey.model_validate_json(record.value))
        except ValidationError as exc:
            log.warning("undecodable hold", extra={"key": record.key, "error": str(exc)})
    return holds


def live_holds(
    holds: Iterable[HeldKey], members: Mapping[str, Collection[str]]
) -> dict[str, list[HeldKey]]:
    """Per group, the holds written by a member the group still has (`members`: each
    group's live member ids); holds of a process that died without releasing them are left
    out, as are those of groups not in `members`. Oldest first."""
    shown: dict[str, list[HeldKey]] = {}
    for hold in holds:
        if hold.member in members.get(hold.group, ()):
            shown.setdefault(hold.group, []).append(hold)
    for group_holds in shown.values():
        group_holds.sort(key=lambda h: (h.since, h.key))
    return shown
