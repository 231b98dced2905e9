"""The runner through outages, rebalances and failed writes, on the real broker.

An outage of the external system (a 503, a 429 with Retry-After) costs a record nothing; a
record keeps failing only within its time budget; a partition that moves during a retry
wait is handled by its new owner only; a step whose writes Kafka did not confirm is not
committed; and idle keys leave nothing behind.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client import REGISTRY

from chassis.audit import AuditTrail, Stage
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Record
from slack_client.errors import SlackRateLimited, SlackUnavailable
from tests.integration.runner_kit import Bench, create_topics, eventually, make_bench, running

pytestmark = pytest.mark.integration


@pytest.fixture
def bench(kafka_bootstrap: str, unique: str) -> Bench:
    return make_bench(kafka_bootstrap, unique)


# ---- issue 9 item 3: outages are waited out, failures have a time budget ----------------------


def test_an_outage_of_the_external_system_costs_no_attempt_and_dead_letters_nothing(
    bench: Bench,
) -> None:
    """Nine answers of "unavailable" (503s, then 429s with Retry-After), then Slack is back:
    the record is handled once, as its first attempt, and nothing reaches the DLQ."""
    create_topics(bench, partitions=1)
    bench.produce([("chan-a", bench.command("chan-a", 0), 0, [])])
    answers: list[Exception] = [SlackUnavailable("Slack answered HTTP 503", error="http_503")] * 4
    answers += [SlackRateLimited("Slack rate limited", retry_after=0.01)] * 5
    attempts_seen: list[int] = []
    done: list[int] = []

    async def handler(record: Record) -> None:
        attempts_seen.append(record.attempts)
        if answers:
            raise answers.pop(0)
        done.append(record.offset)

    async def scenario() -> None:
        async with running(bench.runner(handler)) as task:
            await eventually(lambda: bench.committed_is(1), task, "the record finished")

    asyncio.run(scenario())

    assert done == [0]
    assert len(attempts_seen) == 10
    assert set(attempts_seen) == {1}, "an outage is no failed attempt"
    assert bench.dead_letters() == []


def test_a_failing_record_is_retried_for_its_time_budget_not_a_number_of_attempts(
    bench: Bench,
) -> None:
    create_topics(bench, partitions=1)
    bench.produce([("chan-a", bench.command("chan-a", 0), 0, [])])
    calls: list[int] = []

    async def handler(record: Record) -> None:
        calls.append(record.attempts)
        if len(calls) <= 10:
            raise RuntimeError("flaky")

    async def scenario() -> None:
        async with running(bench.runner(handler, backoff_max=0.05)) as task:
            await eventually(lambda: bench.committed_is(1), task, "the record finished")

    asyncio.run(scenario())

    assert calls == list(range(1, 12))
    assert bench.dead_letters() == []


# ---- issue 9 item 4: a rebalance during a retry wait -----------------------------------------


def test_a_partition_that_moves_during_a_retry_after_wait_is_handled_once_by_its_new_owner(
    bench: Bench,
) -> None:
    """Both records wait out a 60-second Retry-After on consumer A; B joins and takes one
    partition: B handles that record at once and A never does. A stops at once (its wait
    ends), B takes the other partition too: each record handled exactly once, by B."""
    create_topics(bench, partitions=2)
    bench.produce([("chan-a", bench.command("chan-a", 0), 0, [])])
    bench.produce([("chan-b", bench.command("chan-b", 0), 1, [])])
    calls_on_a: list[int] = []
    posted: list[tuple[str, int]] = []

    async def on_a(record: Record) -> None:
        calls_on_a.append(record.partition)
        if calls_on_a.count(record.partition) == 1:
            raise SlackRateLimited("Slack rate limited", retry_after=60.0)
        async with record.paced():
            posted.append(("A", record.partition))

    async def on_b(record: Record) -> None:
        async with record.paced():
            posted.append(("B", record.partition))

    def by_b() -> int:
        return sum(1 for who, _ in posted if who == "B")

    async def scenario() -> None:
        # Calls in flight may take 30 s to finish on a revoke; a retry wait must not.
        a = bench.runner(on_a, shutdown_timeout=30.0, rate_per_key=100.0)
        b = bench.runner(on_b, shutdown_timeout=30.0, rate_per_key=100.0)
        a_task = asyncio.create_task(a.run())
        await eventually(lambda: len(calls_on_a) == 2, a_task, "both records in their wait")
        async with running(b) as b_task:
            await eventually(lambda: by_b() == 1, b_task, "B handles the moved record", 10.0)
            stopping = time.monotonic()
            a.stop()
            await asyncio.wait_for(a_task, timeout=60)
            assert time.monotonic() - stopping < 10.0, "A's 60 s wait ended at its stop"
            await eventually(lambda: by_b() == 2, b_task, "B handles the other record", 20.0)
            await eventually(lambda: bench.committed_is(1, 0), b_task, "a commit on p0")
            await eventually(lambda: bench.committed_is(1, 1), b_task, "a commit on p1")

    asyncio.run(scenario())

    assert sorted(posted) == [("B", 0), ("B", 1)], "each record handled once, by its owner"
    assert Counter(calls_on_a) == {0: 1, 1: 1}, "A never called a handler again after the wait"


def test_a_record_waiting_for_its_pacing_slot_is_let_go_when_its_partition_moves(
    bench: Bench,
) -> None:
    """One post per key per 60 s on consumer A: each key's second record waits in
    `record.paced()`. B joins: the moved key's second record is B's at once, and A, whose
    wait ended with the revoke, never posts it."""
    create_topics(bench, partitions=2)
    bench.produce([("chan-a", bench.command("chan-a", n), 0, []) for n in range(2)])
    bench.produce([("chan-b", bench.command("chan-b", n), 1, []) for n in range(2)])
    posted: list[tuple[str, int, int]] = []
    waiting: list[int] = []

    def handler(who: str) -> Callable[[Record], Awaitable[None]]:
        async def post(record: Record) -> None:
            if record.offset == 1 and who == "A":
                waiting.append(record.partition)
            async with record.paced():
                posted.append((who, record.partition, record.offset))

        return post

    def on(partition: int) -> list[str]:
        return [who for who, p, offset in posted if p == partition and offset == 1]

    async def scenario() -> None:
        a = bench.runner(handler("A"), shutdown_timeout=30.0, rate_per_key=1 / 60)
        b = bench.runner(handler("B"), shutdown_timeout=30.0, rate_per_key=100.0)
        a_task = asyncio.create_task(a.run())
        await eventually(lambda: len(waiting) == 2, a_task, "both second records waiting")
        async with running(b) as b_task:
            await eventually(
                lambda: on(0) == ["B"] or on(1) == ["B"], b_task, "B posts the moved one", 10.0
            )
            a.stop()
            await asyncio.wait_for(a_task, timeout=10)
            await eventually(lambda: on(0) == on(1) == ["B"], b_task, "B posts both", 20.0)

    asyncio.run(scenario())

    assert Counter((p, o) for _, p, o in posted) == {(0, 0): 1, (0, 1): 1, (1, 0): 1, (1, 1): 1}


# ---- issue 9 item 5: a step's writes are confirmed before its offset is committed ------------


def test_a_step_whose_audit_write_failed_is_not_committed_but_retried(bench: Bench) -> None:
    """The audit topic refuses the step's audit record (too large for it): the step is not
    done, its offset is not committed, and the record is handled again."""
    create_topics(bench, partitions=1)
    tiny = f"{bench.topic}.tiny-audit"
    admin = AdminClient({"bootstrap.servers": bench.bootstrap})
    admin.create_topics([NewTopic(tiny, 1, 1, config={"max.message.bytes": "64"})])[tiny].result()
    bench.produce([("chan-a", bench.command("chan-a", 0), 0, [])])
    producer = EventProducer(bench.settings, f"audit-{bench.group}")
    audit = AuditTrail(
        service="it",
        serde=bench.serde,
        publish=lambda key, value: producer.send(tiny, key=key, value=value),
    )
    calls: list[int] = []
    committed_after_first: list[int] = []

    async def handler(record: Record) -> None:
        calls.append(record.attempts)
        if len(calls) == 2:
            committed_after_first.append(await bench.committed_now())
        if len(calls) <= 2:  # the audit record is refused twice, then the step audits nothing
            audit.record(Stage.SENT, entity_id="Bill:000000", detail="x" * 200)

    async def scenario() -> None:
        async with running(bench.runner(handler, backoff_max=0.05)) as task:
            await eventually(lambda: bench.committed_is(1), task, "the record finished")

    try:
        asyncio.run(scenario())
    finally:
        producer.close()

    assert calls == [1, 2, 3], "a step whose audit Kafka refused is handled again"
    assert committed_after_first == [-1001], "nothing committed while its audit was refused"


# ---- issue 9 item 9 (part): idle keys leave nothing behind ----------------------------------


def test_the_buckets_and_queues_of_idle_keys_are_dropped(bench: Bench) -> None:
    create_topics(bench, partitions=1)
    keys = [f"chan-{n}" for n in range(40)]
    bench.produce([(k, bench.command(k, 0), 0, []) for k in keys])
    done: list[str] = []
    peak: list[int] = []
    runner_box: list[Any] = []

    async def handler(record: Record) -> None:
        async with record.paced():
            done.append(str(record.key))
        peak.append(runner_box[0].key_states)

    async def scenario() -> None:
        runner = bench.runner(handler, rate_per_key=1000.0, idle_key_seconds=0.2)
        runner_box.append(runner)
        async with running(runner) as task:
            await eventually(lambda: len(done) == len(keys), task, "every key handled")
            await eventually(lambda: runner.key_states == 0, task, "idle keys dropped")

    asyncio.run(scenario())

    assert max(peak) >= len(keys), "each key had its bucket while it had work"


# ---- issue 9 item 6: a schema id from a newer producer is not poison -------------------------


def test_a_value_with_an_unknown_schema_id_is_retried_not_dead_lettered(bench: Bench) -> None:
    """No registry configured: the record waits for an upgrade (retried within its budget),
    its key waits, other keys go on, and it never reaches the DLQ."""
    create_topics(bench, partitions=1)
    newer = struct.pack(">bI", 0, 987_654) + bench.command("chan-a", 0)[5:]
    bench.produce([("chan-a", newer, 0, []), ("chan-b", bench.command("chan-b", 1), 0, [])])
    done: list[str] = []

    async def handler(record: Record) -> None:
        done.append(str(record.key))

    def retries() -> float:
        value = REGISTRY.get_sample_value("mlc_record_retries_total", {"group": bench.group})
        return value or 0.0

    async def scenario() -> None:
        async with running(bench.runner(handler, backoff_max=0.05)) as task:
            await eventually(lambda: done == ["chan-b"], task, "the other key handled")
            await eventually(lambda: retries() >= 5, task, "the unknown id retried")
            assert await bench.committed_now() in (-1001, 0), "not committed past it"

    asyncio.run(scenario())

    assert bench.dead_letters() == []
