"""The chassis ConsumerRunner on the real broker: ordering, commits, retries, DLQ, pacing.

Every test has its own topic and consumer group. The runner runs as an asyncio task and is
stopped with `runner.stop()`; every wait polls a condition until a deadline, never a fixed
sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import defaultdict

import pytest

from chassis.errors import PermanentError, RetryableError
from chassis.kafka.record import Batching, Held, Record
from chassis.logcontext import current_correlation_id
from tests.integration.runner_kit import (
    WAIT,
    Bench,
    create_topics,
    eventually,
    header,
    make_bench,
    redelivered,
    running,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def bench(kafka_bootstrap: str, unique: str) -> Bench:
    return make_bench(kafka_bootstrap, unique)


# ---- ordering and concurrency ----------------------------------------------------------------


def test_each_key_keeps_its_order_while_keys_run_concurrently(bench: Bench) -> None:
    create_topics(bench, partitions=2)
    keys = {"key-a": 0, "key-b": 1, "key-c": 0}
    bench.produce([(k, bench.command(k, i), p, []) for i in range(50) for k, p in keys.items()])
    handled: dict[str, list[tuple[int, str]]] = defaultdict(list)
    intervals: list[tuple[str, float, float]] = []
    active: dict[str, int] = defaultdict(int)
    peak_per_key = 0

    async def handler(record: Record) -> None:
        nonlocal peak_per_key
        assert record.key is not None
        active[record.key] += 1
        peak_per_key = max(peak_per_key, active[record.key])
        started = time.monotonic()
        await asyncio.sleep(random.uniform(0.001, 0.006))
        intervals.append((record.key, started, time.monotonic()))
        handled[record.key].append((record.offset, record.value["text"]))
        active[record.key] -= 1

    async def scenario() -> None:
        runner = bench.runner(handler)
        async with running(runner) as task:
            await eventually(lambda: len(intervals) == 150, task, "150 records handled")

    asyncio.run(scenario())

    for key, partition in keys.items():
        expected = [p.offset for p in bench.produced if p.key == key]
        assert handled[key] == [(o, f"message {i} for {key}") for i, o in enumerate(expected)]
        assert all(p.partition == partition for p in bench.produced if p.key == key)
    assert peak_per_key == 1
    overlaps = sum(
        1
        for i, (k1, s1, e1) in enumerate(intervals)
        for k2, s2, e2 in intervals[i + 1 :]
        if k1 != k2 and s1 < e2 and s2 < e1
    )
    assert overlaps > 0, "no two keys were ever handled at the same time"
    assert bench.committed(0) == 100
    assert bench.committed(1) == 50


# ---- commits stay below the oldest unfinished record -----------------------------------------


def test_commit_stops_below_a_stuck_record_which_is_redelivered(bench: Bench) -> None:
    create_topics(bench, partitions=1)
    bench.produce([(f"key-{i % 4}", bench.command(f"key-{i % 4}", i), 0, []) for i in range(20)])
    blocked = 5  # key-1; later key-1 records wait behind it, other keys go on
    expected_first = {o for o in range(20) if o % 4 != 1 or o < blocked}
    first: list[int] = []
    never = asyncio.Event()

    async def stuck_handler(record: Record) -> None:
        if record.offset == blocked:
            await never.wait()
        first.append(record.offset)

    async def first_run() -> None:
        runner = bench.runner(stuck_handler, shutdown_timeout=grace)
        async with running(runner) as task:
            await eventually(lambda: set(first) == expected_first, task, "other keys handled")
            # The committed offset reaches the stuck record and goes no further.
            committed: list[int] = []

            async def reached() -> bool:
                committed.append(await bench.committed_now(0))
                return committed[-1] >= blocked

            await eventually(reached, task, "a commit up to the stuck record")
            assert committed[-1] == blocked
            stopping = time.monotonic()
            runner.stop()
            await asyncio.wait_for(task, timeout=60)
            stopped_after.append(time.monotonic() - stopping)

    grace = 2.0
    stopped_after: list[float] = []
    asyncio.run(first_run())

    # The stuck handler is cancelled after one grace period, not waited for twice (once by
    # the shutdown, again by the revoke on close).
    assert grace <= stopped_after[0] < 1.75 * grace

    assert len(first) == len(expected_first)
    assert bench.committed(0) == blocked

    again = redelivered(bench, count=20 - blocked)
    assert sorted(again) == list(range(blocked, 20))
    assert bench.committed(0) == 20


# ---- retries and dead letters ----------------------------------------------------------------


def test_a_retryable_error_is_retried_until_it_succeeds(bench: Bench) -> None:
    create_topics(bench, partitions=1)
    bench.produce([("key-a", bench.command("key-a", 0), 0, [])])
    attempts: list[tuple[int, float]] = []
    succeeded: list[int] = []

    async def handler(record: Record) -> None:
        attempts.append((record.attempts, time.monotonic()))
        if len(attempts) <= 2:
            raise RetryableError("slack answered 429", retry_after=0.2)
        succeeded.append(record.offset)

    async def scenario() -> None:
        runner = bench.runner(handler)
        async with running(runner) as task:
            await eventually(lambda: bool(succeeded), task, "the third attempt")
            await eventually(lambda: bench.committed_is(1), task, "the commit")

    asyncio.run(scenario())

    assert [n for n, _ in attempts] == [1, 2, 3]
    assert succeeded == [0]
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(attempts)]
    assert all(gap >= 0.19 for gap in gaps), gaps
    assert bench.dead_letters() == []


def test_a_permanent_error_dead_letters_the_record_byte_for_byte(bench: Bench) -> None:
    create_topics(bench, partitions=1)
    bench.produce(
        [
            (
                f"key-{i}",
                bench.command(f"key-{i}", i),
                0,
                [("correlation-id", f"corr-{i}".encode())],
            )
            for i in range(5)
        ]
    )
    poison = bench.produced[2]
    handled: list[int] = []
    correlation: dict[int, str | None] = {}

    async def handler(record: Record) -> None:
        correlation[record.offset] = current_correlation_id()
        if record.offset == poison.offset:
            raise PermanentError("channel_not_found")
        handled.append(record.offset)

    async def scenario() -> None:
        runner = bench.runner(handler)
        async with running(runner) as task:
            await eventually(lambda: bench.committed_is(5), task, "all five finished")

    asyncio.run(scenario())

    assert handled == [0, 1, 3, 4]
    assert correlation == {i: f"corr-{i}" for i in range(5)}
    (dead,) = bench.dead_letters()
    assert dead.key() == poison.key.encode()
    assert dead.value() == poison.value
    assert dead.headers()[0] == ("correlation-id", b"corr-2")
    assert "PermanentError: channel_not_found" in header(dead, "dlq-reason")
    assert header(dead, "dlq-topic") == bench.topic
    assert header(dead, "dlq-partition") == "0"
    assert header(dead, "dlq-offset") == str(poison.offset)
    assert header(dead, "dlq-group") == bench.group


def test_an_undecodable_value_is_dead_lettered_without_calling_the_handler(bench: Bench) -> None:
    create_topics(bench, partitions=1)
    garbage = b"this is not avro"
    bench.produce(
        [
            ("key-a", garbage, 0, []),
            ("key-a", b"\x00\x00", 0, []),
            ("key-a", bench.command("key-a", 2), 0, []),
        ]
    )
    handled: list[int] = []

    async def handler(record: Record) -> None:
        handled.append(record.offset)

    async def scenario() -> None:
        runner = bench.runner(handler)
        async with running(runner) as task:
            await eventually(lambda: bench.committed_is(3), task, "all three finished")

    asyncio.run(scenario())

    assert handled == [2]
    bad_magic, too_short = bench.dead_letters()
    assert bad_magic.value() == garbage
    assert header(bad_magic, "dlq-reason") == "undecodable value: unknown magic byte 116"
    assert header(bad_magic, "dlq-offset") == "0"
    assert too_short.value() == b"\x00\x00"
    assert header(too_short, "dlq-reason").startswith("undecodable value: value of 2 bytes")
    assert header(too_short, "dlq-offset") == "1"


def test_an_error_that_keeps_coming_is_dead_lettered_once_its_budget_is_spent(
    bench: Bench,
) -> None:
    create_topics(bench, partitions=1)
    bench.produce([("key-a", bench.command("key-a", 0), 0, [])])
    attempts: list[int] = []

    async def handler(record: Record) -> None:
        attempts.append(record.attempts)
        raise RuntimeError("a bug")

    async def scenario() -> None:
        runner = bench.runner(handler, retry_budget=0.5)
        async with running(runner) as task:
            await eventually(lambda: bench.committed_is(1), task, "the record finished")

    started = time.monotonic()
    asyncio.run(scenario())

    assert attempts == list(range(1, len(attempts) + 1))
    assert len(attempts) >= 2, "retried within its budget"
    assert time.monotonic() - started < WAIT
    (dead,) = bench.dead_letters()
    assert header(dead, "dlq-reason") == (
        f"retry budget of 0.5s spent after {len(attempts)} attempts: RuntimeError: a bug"
    )


# ---- per-key pacing --------------------------------------------------------------------------


def test_each_key_is_paced_by_its_own_token_bucket(bench: Bench) -> None:
    create_topics(bench, partitions=1)
    bench.produce([(k, bench.command(k, i), 0, []) for i in range(4) for k in ("chan-a", "chan-b")])
    calls: dict[str, list[float]] = defaultdict(list)

    async def handler(record: Record) -> None:
        assert record.key is not None
        async with record.paced():
            calls[record.key].append(time.monotonic())

    async def scenario() -> None:
        runner = bench.runner(handler, rate_per_key=5)
        async with running(runner) as task:
            await eventually(lambda: sum(map(len, calls.values())) == 8, task, "eight calls")

    asyncio.run(scenario())

    assert sorted(calls) == ["chan-a", "chan-b"]
    for key, stamps in calls.items():
        assert len(stamps) == 4, key
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        assert all(gap >= 0.19 for gap in gaps), (key, gaps)
    a, b = calls["chan-a"], calls["chan-b"]
    assert a[0] < b[-1]
    assert b[0] < a[-1], "one key waited for the other instead of interleaving"


# ---- batches: a long queue of one key handed over in one call ---------------------------------


def test_a_long_queue_is_handed_over_in_batches_each_record_once_in_order(bench: Bench) -> None:
    create_topics(bench, partitions=1)
    bench.produce([("key-a", bench.command("key-a", i), 0, []) for i in range(30)])
    bench.produce([("key-b", bench.command("key-b", i), 0, []) for i in range(3)])
    calls: list[tuple[str, list[int]]] = []
    lone = "message 7 for key-a"  # e.g. a thread reply: never folded

    async def handler(record: Record) -> None:
        calls.append((str(record.key), [record.offset]))

    async def batch_handler(records: list[Record]) -> None:
        assert len({r.key for r in records}) == 1
        calls.append((str(records[0].key), [r.offset for r in records]))

    batching = Batching(
        handler=batch_handler,
        queue_over=5,
        max_records=10,
        foldable=lambda r: r.value["text"] != lone,
    )

    async def scenario() -> None:
        runner = bench.runner(handler, batching=batching)
        async with running(runner) as task:
            await eventually(lambda: sum(len(o) for _, o in calls) == 33, task, "33 records")
            await eventually(lambda: bench.committed_is(33), task, "commit of all")

    asyncio.run(scenario())

    handled_a = [o for key, offsets in calls if key == "key-a" for o in offsets]
    assert handled_a == list(range(30))
    batches = [offsets for key, offsets in calls if len(offsets) > 1]
    assert batches, "no batch was handed over"
    assert all(len(b) <= 10 for b in batches)
    assert [7] in [offsets for _, offsets in calls]  # the unfoldable one went alone
    assert all(len(offsets) == 1 for key, offsets in calls if key == "key-b")


# ---- held records: kept, not retried on a timer, not dead-lettered ------------------------------


def test_a_held_key_waits_for_its_release_while_other_keys_go_on(bench: Bench) -> None:
    create_topics(bench, partitions=1)
    keys = ("free", "held")
    bench.produce([(k, bench.command(k, i), 0, []) for i in range(5) for k in keys])
    fixed = asyncio.Event()
    attempts: dict[int, int] = defaultdict(int)
    done: list[tuple[str, int]] = []

    async def handler(record: Record) -> None:
        attempts[record.offset] += 1
        if record.key == "held" and not fixed.is_set():
            raise Held("credential invalid", released=fixed.wait)
        done.append((str(record.key), record.offset))

    async def scenario() -> None:
        runner = bench.runner(handler, retry_budget=0.0)
        async with running(runner) as task:
            await eventually(lambda: len(done) == 5, task, "the free key's records")
            await eventually(lambda: bench.committed_is(1), task, "a commit up to the held one")
            assert attempts[1] == 1  # held: not called again on a timer
            assert all(key == "free" for key, _ in done)
            fixed.set()
            await eventually(lambda: len(done) == 10, task, "the held key's records")
            await eventually(lambda: bench.committed_is(10), task, "a commit of all")

    asyncio.run(scenario())

    assert [o for key, o in done if key == "held"] == [1, 3, 5, 7, 9]
    assert bench.dead_letters() == []


def test_a_held_record_is_let_go_on_stop_and_redelivered(bench: Bench) -> None:
    create_topics(bench, partitions=1)
    bench.produce([("held", bench.command("held", i), 0, []) for i in range(3)])
    never = asyncio.Event()
    seen: list[int] = []

    async def held(record: Record) -> None:
        seen.append(record.offset)
        raise Held("credential invalid", released=never.wait)

    async def first_run() -> None:
        runner = bench.runner(held, shutdown_timeout=120)
        async with running(runner) as task:
            await eventually(lambda: seen == [0], task, "the first record held")

    asyncio.run(first_run())
    assert bench.committed(0) < 0  # nothing committed: the held record comes back

    assert redelivered(bench, count=3) == [0, 1, 2]
