"""Publishing held keys: a record when a key has waited long enough, a tombstone when its
record settles, nothing per retry or per record, and only live members' holds shown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta

import pytest

from chassis.credential_hold import CredentialHolds
from chassis.kafka.held_keys import HeldKey, HeldKeys, live_holds, record_key
from chassis.kafka.producer import ProduceError
from chassis.kafka.record import HoldKind
from chassis.key_waits import reporting_key_waits
from chassis.ratelimit import HourlyBudget

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Sender:
    """Records every write; a write is confirmed at once unless `refuse` says otherwise."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str, bytes | None]] = []
        self.refuse = 0

    def send(self, topic: str, *, key: str | None, value: bytes | None) -> Future[None]:
        assert key is not None
        self.writes.append((topic, key, value))
        delivery: Future[None] = Future()
        if self.refuse:
            self.refuse -= 1
            delivery.set_exception(ProduceError("broker away"))
        else:
            delivery.set_result(None)
        return delivery

    def values(self) -> list[dict[str, object] | None]:
        return [None if v is None else json.loads(v) for _, _, v in self.writes]


class Timer:
    def __init__(self, delay: float, callback: Callable[[], None]) -> None:
        self.delay, self.callback, self.cancelled = delay, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Clocks:
    """A monotonic clock, the wall clock beside it and the timers scheduled on them."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.timers: list[Timer] = []

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.seconds)

    def schedule(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(delay, callback)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        """Moves the clocks on and fires the timers now due (scheduled `delay` after `at`)."""
        self.seconds += seconds
        for timer in list(self.timers):
            if not timer.cancelled and timer.delay <= seconds:
                self.timers.remove(timer)
                timer.callback()
            else:
                timer.delay -= seconds


def board(clocks: Clocks, sender: Sender, *, visible_after: float = 2.0) -> HeldKeys:
    keys = HeldKeys(
        sender, group="mlc-slack-sink", instance="slack-sink-0", topic="holds",
        visible_after=visible_after, schedule=clocks.schedule, clock=clocks.monotonic,
        now=clocks.now,
    )  # fmt: skip
    keys.joined_as("member-1")
    return keys


def on_a_loop(test: Callable[[], Coroutine[object, object, None]]) -> Callable[[], None]:
    """The board sends from an event loop (its delivery reports come back through it)."""

    def run() -> None:
        asyncio.run(test())

    run.__name__ = test.__name__
    return run


async def settle_callbacks() -> None:
    """Delivery reports reach the board through the loop (call_soon_threadsafe)."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


@on_a_loop
async def test_a_credential_hold_is_published_once_and_tombstoned_when_the_record_settles() -> None:
    clocks, sender = Clocks(), Sender()
    keys = board(clocks, sender)
    keys.waiting("C1", kind=HoldKind.CREDENTIAL_HELD, reason="acme: invalid_auth",
                 partition=("sink.slack.v1", 2))  # fmt: skip
    clocks.advance(1.9)
    assert sender.writes == []  # not yet visible
    clocks.advance(0.2)
    assert [k for _, k, _ in sender.writes] == [record_key("mlc-slack-sink", "C1")]
    (value,) = sender.values()
    assert value == {
        "group": "mlc-slack-sink", "key": "C1", "kind": "credential-held",
        "reason": "acme: invalid_auth", "since": "2026-12-03T09:00:00Z", "until": None,
        "member": "member-1", "instance": "slack-sink-0",
    }  # fmt: skip
    assert [h.key for h in keys.held] == ["C1"]
    keys.wait_over("C1")  # released: the record is called again, still unsettled
    assert len(sender.writes) == 1
    keys.settled("C1")
    assert sender.writes[-1] == ("holds", record_key("mlc-slack-sink", "C1"), None)
    assert keys.held == []
    keys.settled("C1")  # a second settle of the same record writes nothing
    assert len(sender.writes) == 2


@on_a_loop
async def test_retries_and_records_of_a_held_key_write_nothing_more() -> None:
    clocks, sender = Clocks(), Sender()
    keys = board(clocks, sender)
    for _ in range(50):  # one record hammered by 429s of 1 s each
        until = clocks.now() + timedelta(seconds=1)
        keys.waiting("C1", kind=HoldKind.RATE_LIMITED, reason="429", until=until)
        clocks.advance(1.0)
        keys.wait_over("C1")
    assert len(sender.writes) == 1  # visible once the episode lasted 2 s, then no more
    assert sender.values()[0]["since"] == "2026-12-03T09:00:00Z"  # type: ignore[index]
    keys.settled("C1")
    for _ in range(1000):  # records that never wait cost no write
        keys.settled("C2")
    assert len(sender.writes) == 2


@on_a_loop
async def test_a_key_paced_at_a_second_a_message_is_never_held() -> None:
    clocks, sender = Clocks(), Sender()
    keys = board(clocks, sender)
    for _ in range(100):  # each record waits its turn (~1 s), then goes through
        keys.waiting("C1", kind=HoldKind.RATE_LIMITED, reason="pace")
        clocks.advance(0.99)
        keys.wait_over("C1")
        keys.settled("C1")
    assert sender.writes == []
    assert all(t.cancelled for t in clocks.timers)


@on_a_loop
async def test_a_known_short_wait_schedules_nothing_and_a_kind_change_is_written() -> None:
    clocks, sender = Clocks(), Sender()
    keys = board(clocks, sender)
    keys.waiting("C1", kind=HoldKind.UNAVAILABLE, reason="503",
                 until=clocks.now() + timedelta(seconds=0.5))  # fmt: skip
    assert clocks.timers == []
    keys.wait_over("C1")
    keys.waiting("C1", kind=HoldKind.UNAVAILABLE, reason="503 again",
                 until=clocks.now() + timedelta(seconds=30))  # fmt: skip
    clocks.advance(2.0)
    keys.waiting("C1", kind=HoldKind.UNAVAILABLE, reason="503 once more")
    keys.waiting("C1", kind=HoldKind.CREDENTIAL_HELD, reason="token revoked")
    kinds = [v["kind"] for v in sender.values() if v is not None]
    assert kinds == ["unavailable", "credential-held"]


@on_a_loop
async def test_a_new_member_id_writes_the_holds_again_under_it() -> None:
    clocks, sender = Clocks(), Sender()
    keys = board(clocks, sender, visible_after=0.0)
    keys.waiting("C1", kind=HoldKind.DAILY_LIMIT, reason="monday daily call limit reached")
    clocks.advance(0.0)
    keys.joined_as("member-1")  # the same member: nothing
    keys.joined_as("member-2")
    assert [v["member"] for v in sender.values() if v is not None] == ["member-1", "member-2"]


@on_a_loop
async def test_a_revoke_tombstones_only_the_keys_of_its_partitions() -> None:
    clocks, sender = Clocks(), Sender()
    keys = board(clocks, sender, visible_after=0.0)
    keys.waiting("C1", kind=HoldKind.CREDENTIAL_HELD, reason="x", partition=("t", 0))
    keys.waiting("C2", kind=HoldKind.CREDENTIAL_HELD, reason="x", partition=("t", 1))
    keys.waiting("C3", kind=HoldKind.CREDENTIAL_HELD, reason="x", partition=("t", 0))
    clocks.advance(0.0)
    keys.wait_over("C3")
    keys.settled("C3")
    deliveries = keys.release_partitions({("t", 0)})
    assert len(deliveries) == 1
    assert deliveries[0].done()
    assert sender.writes[-1][1:] == (record_key("mlc-slack-sink", "C1"), None)
    assert [h.key for h in keys.held] == ["C2"]
    keys.settled("C1")  # the let-go record settles later: its tombstone is already written
    assert len(sender.writes) == 5


@on_a_loop
async def test_a_write_kafka_refuses_is_sent_again_with_the_state_of_that_moment() -> None:
    clocks, sender = Clocks(), Sender()
    keys = board(clocks, sender, visible_after=0.0)
    sender.refuse = 1
    keys.waiting("C1", kind=HoldKind.CREDENTIAL_HELD, reason="x")
    clocks.advance(0.0)
    await settle_callbacks()
    keys.settled("C1")  # released before the resend is due
    clocks.advance(1.0)
    assert [v is None for *_, v in sender.writes] == [False, True, True]


@on_a_loop
async def test_the_credential_hold_carries_its_kind_and_end_to_the_runner() -> None:
    holds = CredentialHolds(refresh_seconds=60)
    until = T0 + timedelta(hours=3)
    held = holds.hold("t1", replaced=None, reason="monday daily call limit reached",
                      kind=HoldKind.DAILY_LIMIT, until=until)  # fmt: skip
    again = holds.held("t1")
    assert again is not None
    assert (held.kind, held.until) == (again.kind, again.until) == (HoldKind.DAILY_LIMIT, until)
    assert holds.hold("t2", replaced=None).kind is HoldKind.CREDENTIAL_HELD
    await holds.aclose()


def test_mlc_status_shows_only_the_holds_of_live_members() -> None:
    def hold(group: str, key: str, member: str, minute: int) -> HeldKey:
        return HeldKey(group=group, key=key, kind=HoldKind.CREDENTIAL_HELD, reason="r",
                       since=T0 + timedelta(minutes=minute), member=member)  # fmt: skip

    holds = [
        hold("g1", "b", "m1", 2), hold("g1", "a", "m1", 1), hold("g1", "dead", "m0", 0),
        hold("g2", "x", "m9", 0), hold("g3", "y", "m3", 0),
    ]  # fmt: skip
    shown = live_holds(holds, {"g1": {"m1", "m2"}, "g2": set()})
    assert {g: [h.key for h in hs] for g, hs in shown.items()} == {"g1": ["a", "b"]}


class Reporter:
    def __init__(self) -> None:
        self.seen: list[tuple[str, HoldKind | None, str, datetime | None]] = []

    def started(self, kind: HoldKind, reason: str, until: datetime | None) -> None:
        self.seen.append(("started", kind, reason, until))

    def over(self) -> None:
        self.seen.append(("over", None, "", None))


def test_a_spent_hourly_budget_reports_its_wait_to_the_runner_and_nothing_outside_one() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def scenario() -> None:
        budget = HourlyBudget(1, 3600.0, clock=lambda: now[0], sleep=sleep)
        reporter = Reporter()
        await budget.acquire()  # the hour's one call: no wait
        now[0] += 600.0
        before = datetime.now(UTC)
        with reporting_key_waits(reporter):
            await budget.acquire()  # waits the 3000 s left of the hour
        (_, kind, reason, until), over = reporter.seen
        assert (kind, reason) == (HoldKind.BUDGET_HELD, "call budget spent (1 per 3600 s)")
        assert until is not None
        assert timedelta(seconds=2999) < until - before < timedelta(seconds=3001)
        assert over[0] == "over"
        await budget.acquire()  # outside a runner: the wait is reported to no one
        assert len(reporter.seen) == 2
        assert slept == [3000.0, 3600.0]

    asyncio.run(scenario())
