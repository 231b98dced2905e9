"""TokenBucket and HourlyBudget pacing, on a fake clock that the fake sleep advances."""

from __future__ import annotations

import itertools

import pytest

from chassis.ratelimit import (
    COUNTED_SAMPLES,
    LATENCY_SAMPLES,
    BudgetSnapshot,
    HourlyBudget,
    LatencySpread,
    TokenBucket,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.mark.anyio
async def test_bucket_allows_burst_then_paces_at_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(2.0, burst=2, clock=t.clock, sleep=t.sleep)
    for _ in range(4):
        await bucket.acquire()
    assert t.sleeps == [0.5, 0.5]
    assert t.now == pytest.approx(1001.0)


@pytest.mark.anyio
async def test_bucket_refills_while_idle() -> None:
    t = FakeTime()
    bucket = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep)
    await bucket.acquire()
    t.now += 5
    await bucket.acquire()
    assert t.sleeps == []


@pytest.mark.anyio
async def test_penalize_pushes_next_slot_out_and_resets_burst() -> None:
    t = FakeTime()
    bucket = TokenBucket(1.0, burst=5, clock=t.clock, sleep=t.sleep)
    await bucket.acquire()
    bucket.penalize(30)
    await bucket.acquire()
    assert t.sleeps == [30.0]
    await bucket.acquire()
    assert t.sleeps == [30.0, 1.0]


def test_bucket_rejects_bad_rate() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)


@pytest.mark.anyio
async def test_budget_waits_for_next_window_when_spent() -> None:
    t = FakeTime()
    budget = HourlyBudget(2, 10.0, clock=t.clock, sleep=t.sleep)
    await budget.acquire()
    t.now += 4
    await budget.acquire()
    assert budget.snapshot() == BudgetSnapshot(limit=2, remaining=0, resets_in_seconds=6.0)
    await budget.acquire()
    assert t.sleeps == [6.0]
    assert budget.snapshot().remaining == 1


@pytest.mark.anyio
async def test_budget_adopts_tighter_server_view() -> None:
    t = FakeTime()
    budget = HourlyBudget(500, 3600.0, clock=t.clock, sleep=t.sleep)
    budget.observe(limit=1000, remaining=0, reset_seconds=42)
    assert budget.snapshot() == BudgetSnapshot(limit=500, remaining=0, resets_in_seconds=42.0)
    await budget.acquire()
    assert t.sleeps == [42.0]


def test_budget_ignores_looser_server_view() -> None:
    t = FakeTime()
    budget = HourlyBudget(10, 100.0, clock=t.clock, sleep=t.sleep)
    budget.observe(limit=50, remaining=40, reset_seconds=5)
    assert budget.snapshot() == BudgetSnapshot(limit=10, remaining=10, resets_in_seconds=100.0)


def test_budget_adopts_lower_server_limit() -> None:
    t = FakeTime()
    budget = HourlyBudget(500, 3600.0, clock=t.clock, sleep=t.sleep)
    budget.observe(limit=100, remaining=None, reset_seconds=None)
    snap = budget.snapshot()
    assert (snap.limit, snap.remaining) == (100, 100)
    t.now += 3600
    assert budget.snapshot().remaining == 100


async def _starts(bucket: TokenBucket, t: FakeTime, latencies: list[float]) -> list[float]:
    """When each call started, each call taking the given time to answer."""
    starts = []
    for latency in latencies:
        async with bucket.slot():
            starts.append(t.now)
            t.now += latency
    return [round(b - a, 6) for a, b in itertools.pairwise(starts)]


@pytest.mark.anyio
async def test_slots_are_paced_from_the_start_of_the_previous_call_not_its_end() -> None:
    t = FakeTime()
    bucket = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep)
    # A steady latency, however long, leaves one second between starts (not 1 s + latency)
    # once a few calls have shown it; those count from their answers.
    gaps = await _starts(bucket, t, [0.3] * (LATENCY_SAMPLES + 5))
    assert gaps == [1.3] * (LATENCY_SAMPLES + 1) + [1.0] * 3


@pytest.mark.anyio
async def test_a_jittery_latency_adds_its_spread_to_the_interval() -> None:
    t = FakeTime()
    bucket = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep)
    await _starts(bucket, t, [0.6, 0.1, 0.15] + [0.1] * (LATENCY_SAMPLES - 2))  # 0.6: connect
    # Latencies between 0.1 and 0.15 s: the server may count one call 0.05 s later after
    # its start than the next, so starts are 1.05 s apart.
    assert await _starts(bucket, t, [0.1, 0.15, 0.1, 0.12]) == [1.05, 1.05, 1.05]
    # A 0.6 s outlier: the next start waits its excess over the fastest (0.5 s); after it,
    # the spread (0.5 s) is more than a call's own latency, which then bounds the wait, as
    # if counted from the answer.
    assert await _starts(bucket, t, [0.12, 0.6, 0.05, 0.05]) == [1.05, 1.5, 1.05]


async def _failing_call(bucket: TokenBucket, t: FakeTime, *, seconds: float) -> None:
    async with bucket.slot():
        t.now += seconds
        raise RuntimeError


@pytest.mark.anyio
async def test_a_failed_call_does_not_count_as_a_latency_sample() -> None:
    t = FakeTime()
    bucket = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep)
    await _starts(bucket, t, [0.2] * (LATENCY_SAMPLES + 1))
    with pytest.raises(RuntimeError):
        await _failing_call(bucket, t, seconds=5.0)  # e.g. a 429 whose handling took long
    assert await _starts(bucket, t, [0.2] * 3) == [1.0, 1.0]


async def _counted(
    bucket: TokenBucket, t: FakeTime, calls: list[tuple[float, float]]
) -> list[float]:
    """Starts of calls that the server counted `delay` after their start (its clock 1,000 s
    ahead of ours) and answered `latency` after it."""
    starts = []
    for delay, latency in calls:
        async with bucket.slot() as count:
            starts.append(t.now)
            count.counted_at(t.now + 1000.0 + delay)
            t.now += latency
    return [round(b - a, 6) for a, b in itertools.pairwise(starts)]


@pytest.mark.anyio
async def test_a_call_the_server_timed_is_paced_on_when_it_was_counted_not_on_its_answer() -> None:
    """Answers that take 0.1 to 0.5 s while the server counts every call 0.1 s after its
    start: nothing but the interval between starts (the round-trip spread would add 0.4 s)."""
    t = FakeTime()
    bucket = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep)
    warmup = [(0.1, 0.5)] * (COUNTED_SAMPLES + 1)
    assert await _counted(bucket, t, warmup) == [1.5] * COUNTED_SAMPLES  # until known
    assert await _counted(bucket, t, [(0.1, 0.1), (0.1, 0.5), (0.1, 0.3)]) == [1.0, 1.0]
    # Counted 0.3 s later than the earliest recent one: the next start waits those 0.3 s, so
    # a call counted as early as the earliest still lands a full interval after it.
    assert await _counted(bucket, t, [(0.4, 0.5), (0.1, 0.1), (0.1, 0.1)]) == [1.3, 1.0]


@pytest.mark.anyio
async def test_buckets_sharing_a_server_learn_its_latency_once() -> None:
    """A channel's calls need not count from their answers for long when other channels'
    calls to the same server have already shown a steady latency; its first call still does
    (it may have opened a connection)."""
    t = FakeTime()
    spread = LatencySpread()
    learned = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep, latency=spread)
    await _starts(learned, t, [0.3] * (LATENCY_SAMPLES + 2))
    fresh = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep, latency=spread)
    assert await _starts(fresh, t, [0.3] * 4) == [1.3, 1.0, 1.0]
    alone = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep)
    assert await _starts(alone, t, [0.3] * 4) == [1.3, 1.3, 1.3]


@pytest.mark.anyio
async def test_a_keys_first_call_counts_from_its_answer_even_when_the_server_timed_it() -> None:
    """At start every key calls at once and the server counts those calls late; a new key's
    first call must not be paced on a floor the others learned in calmer times."""
    t = FakeTime()
    spread = LatencySpread()
    learned = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep, latency=spread)
    await _counted(learned, t, [(0.1, 0.2)] * (COUNTED_SAMPLES + 2))
    fresh = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep, latency=spread)
    assert await _counted(fresh, t, [(0.3, 0.4), (0.1, 0.2), (0.1, 0.2)]) == [1.4, 1.0]


@pytest.mark.anyio
async def test_first_calls_of_keys_are_no_samples_of_the_floor() -> None:
    """Many keys' first calls, counted late in a start-up burst, must not set a floor that the
    next calls (counted earlier) fall below: those would reach the server too close."""
    t = FakeTime()
    spread = LatencySpread()
    for _ in range(COUNTED_SAMPLES + 5):
        first = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep, latency=spread)
        await _counted(first, t, [(0.5, 0.6)])
    key = TokenBucket(1.0, burst=1, clock=t.clock, sleep=t.sleep, latency=spread)
    # Still learning: the second call counts from its answer, not from 0.1 - 0.5 below zero.
    assert await _counted(key, t, [(0.5, 0.6), (0.1, 0.2), (0.1, 0.2)]) == [1.6, 1.2]
