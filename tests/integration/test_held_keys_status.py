"""Held keys on the real broker: a runner's hold shows in `mlc status` and goes when it is
released, a key waiting out many 429s is written once (and tombstoned once), a hold costs
no round trip to Kafka, and the holds of a SIGKILLed process stop showing.

Each test has its own topic and group; `state.holds.v1` is shared, keyed by group.
"""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from chassis.credential_hold import CredentialHolds
from chassis.kafka.held_keys import HOLDS_TOPIC, HeldKeys, read_held_keys, record_key
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import HoldKind, Record
from chassis.ratelimit import HourlyBudget
from mlc.cli import main
from slack_client.errors import SlackRateLimited
from tests.integration.runner_kit import Bench, create_topics, eventually, make_bench, running

pytestmark = pytest.mark.integration

CHILD = Path(__file__).with_name("held_keys_runner.py")


@pytest.fixture
def bench(kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch) -> Bench:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    return make_bench(kafka_bootstrap, unique)


def status_json(bench: Bench, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["status", "--group", bench.group, "--interval", "0", "--json"]) == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert isinstance(shown, dict)
    return shown


def held_count(bench: Bench, capsys: pytest.CaptureFixture[str]) -> int | None:
    """What `mlc status` shows of the group: its held keys, None before the group exists."""
    if main(["status", "--group", bench.group, "--interval", "0", "--json"]) != 0:
        capsys.readouterr()
        return None
    [shown] = json.loads(capsys.readouterr().out)
    return int(shown["held_keys"])


def writes_for(bench: Bench, key: str) -> list[dict[str, Any] | None]:
    """Every record of `state.holds.v1` for the group's `key`, tombstones as None, in order."""
    wanted = record_key(bench.group, key).encode()
    consumer = Consumer({"bootstrap.servers": bench.bootstrap, "group.id": f"{bench.group}-r"})
    try:
        partitions = [TopicPartition(HOLDS_TOPIC.name, p) for p in range(HOLDS_TOPIC.partitions)]
        ends = {}
        for tp in partitions:
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            if high > low:
                ends[tp.partition] = high
                tp.offset = low
        consumer.assign([tp for tp in partitions if tp.partition in ends])
        found: list[dict[str, Any] | None] = []
        deadline = time.monotonic() + 30
        while ends and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.2):
                assert message.error() is None
                if message.key() == wanted:
                    value = message.value()
                    found.append(None if value is None else json.loads(value))
                if message.offset() + 1 >= ends.get(message.partition(), 0):
                    ends.pop(message.partition(), None)
        assert not ends, "state.holds.v1 not read to its end"
        return found
    finally:
        consumer.close()


def test_a_credential_hold_shows_in_mlc_status_and_is_gone_once_released(
    bench: Bench, capsys: pytest.CaptureFixture[str]
) -> None:
    create_topics(bench, partitions=1)
    bench.produce([("chan-a", bench.command("chan-a", 0), 0, [])])
    holds = CredentialHolds(refresh_seconds=0.05)
    replaced = asyncio.Event()

    async def new_token_stored() -> bool:
        return replaced.is_set()

    async def handler(record: Record) -> None:
        if not replaced.is_set():
            raise holds.hold("acme", replaced=new_token_stored, reason="invalid_auth")

    async def shown_held() -> bool:
        return await asyncio.to_thread(held_count, bench, capsys) == 1

    async def scenario() -> tuple[dict[str, Any], str, dict[str, Any]]:
        async with running(bench.runner(handler, hold_visible_after=0.2)) as task:
            await eventually(shown_held, task, "the hold shown by mlc status")
            held = await asyncio.to_thread(status_json, bench, capsys)
            code = await asyncio.to_thread(
                main, ["status", "--group", bench.group, "--interval", "0"]
            )
            assert code == 0
            table = capsys.readouterr().out
            replaced.set()
            await eventually(lambda: bench.committed_is(1), task, "the record handled")
            await eventually(
                lambda: writes_for(bench, "chan-a")[-1:] == [None], task, "the tombstone"
            )
            after = await asyncio.to_thread(status_json, bench, capsys)
        await holds.aclose()
        return held, table, after

    held, table, after = asyncio.run(scenario())
    [hold] = held["held"]
    assert (hold["key"], hold["kind"], hold["reason"]) == (
        "chan-a", "credential-held", "acme: invalid_auth"
    )  # fmt: skip
    assert hold["member"]
    assert table.splitlines()[1].split()[-1] == "1"
    assert table.splitlines()[2].startswith("  held chan-a  credential-held since ")
    assert (after["held_keys"], after["held"]) == (0, [])
    assert len(writes_for(bench, "chan-a")) == 2  # one hold, one tombstone


def test_a_key_waiting_out_thirty_429s_is_written_once_and_released_once(bench: Bench) -> None:
    create_topics(bench, partitions=1)
    bench.produce([("chan-b", bench.command("chan-b", 0), 0, [])])
    answers = [SlackRateLimited("Slack rate limited", retry_after=0.05) for _ in range(30)]

    async def handler(record: Record) -> None:
        if answers:
            raise answers.pop(0)

    async def scenario() -> None:
        async with running(bench.runner(handler, hold_visible_after=0.3)) as task:
            await eventually(lambda: bench.committed_is(1), task, "the record handled")
            await eventually(
                lambda: writes_for(bench, "chan-b")[-1:] == [None], task, "the tombstone"
            )

    asyncio.run(scenario())
    held, released = writes_for(bench, "chan-b")
    assert held is not None
    assert held["kind"] == "rate-limited"
    assert released is None


def test_a_spent_call_budget_inside_the_handler_shows_the_key_budget_held(bench: Bench) -> None:
    """The handler's client spends an hourly budget of one call: the second record's call
    waits for the next window inside the handler, and the runner publishes its key as
    budget-held until the record is done."""
    create_topics(bench, partitions=1)
    bench.produce([("company-1", bench.command("company-1", n), 0, []) for n in range(2)])
    now = [0.0]
    next_window = asyncio.Event()

    async def wait_for_the_window(seconds: float) -> None:
        await next_window.wait()
        now[0] += seconds

    budget = HourlyBudget(1, 3600.0, clock=lambda: now[0], sleep=wait_for_the_window)

    async def handler(record: Record) -> None:
        await budget.acquire()

    def written() -> list[dict[str, Any] | None]:
        return writes_for(bench, "company-1")

    async def scenario() -> None:
        async with running(bench.runner(handler, hold_visible_after=0.2)) as task:
            await eventually(lambda: len(written()) == 1, task, "the key published as held")
            next_window.set()
            await eventually(lambda: bench.committed_is(2), task, "both records handled")
            await eventually(lambda: written()[-1:] == [None], task, "the tombstone")

    asyncio.run(scenario())
    held, released = written()
    assert held is not None
    assert (held["kind"], held["reason"]) == ("budget-held", "call budget spent (1 per 3600 s)")
    assert held["until"] is not None
    assert released is None


def test_a_hold_and_release_pair_adds_no_round_trip_to_kafka(bench: Bench) -> None:
    """The pair returns before Kafka confirmed its two writes: a record of a held key is not
    slowed by them. Prints the pair's time beside one confirmed write's round trip."""
    create_topics(bench, partitions=1)
    producer = EventProducer(bench.settings, f"{bench.group}-timing")
    pairs, round_trips, unconfirmed = [], [], 0

    async def scenario() -> None:
        nonlocal unconfirmed
        keys = HeldKeys(producer, group=bench.group, visible_after=0.0)
        keys.joined_as("timing")
        for i in range(200):
            started = time.perf_counter()
            keys.waiting(f"k{i}", kind=HoldKind.CREDENTIAL_HELD, reason="timing")
            keys.settled(f"k{i}")
            pairs.append(time.perf_counter() - started)
            unconfirmed += keys.writes != 2 * (i + 1)
            started = time.perf_counter()
            await asyncio.to_thread(producer.send_confirmed, bench.topic, key="probe", value=b"x")
            round_trips.append(time.perf_counter() - started)

    asyncio.run(scenario())
    producer.close()
    pair, trip = statistics.median(pairs) * 1e3, statistics.median(round_trips) * 1e3
    print(f"hold+release pair {pair:.3f} ms (median of 200), one confirmed write {trip:.3f} ms")
    assert unconfirmed == 0  # both writes of every pair were sent
    assert pair < trip


def test_the_holds_of_a_killed_runner_stop_showing_once_its_member_is_gone(
    bench: Bench, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A runner process holds a key and is SIGKILLed: its record stays on the topic. A new
    process under the same static instance id replaces the dead member at once and handles
    the key: `mlc status` shows no hold, though the dead one's record is still there."""
    create_topics(bench, partitions=1)
    bench.produce([("chan-c", bench.command("chan-c", 0), 0, [])])
    instance = f"{bench.group}-0"
    log = tmp_path / "child.log"

    def start(mode: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, str(CHILD), bench.bootstrap, bench.topic, bench.group, instance,
             mode],
            stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def until(check: Any, what: str, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while not check():
            if process.poll() is not None:
                raise AssertionError(f"child ended before {what}: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    first = start("refused")
    try:
        until(lambda: held_count(bench, capsys) == 1, "the hold shown", first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    [dead] = [h for h in read_held_keys(bench.settings, client="it-holds") if
              h.group == bench.group]  # fmt: skip

    second = start("fixed")
    try:
        until(lambda: "done chan-c" in log.read_text(), "the key handled again", second)
        shown = status_json(bench, capsys)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert (shown["held_keys"], shown["held"]) == (0, [])
    still = [h for h in read_held_keys(bench.settings, client="it-holds") if
             h.group == bench.group]  # fmt: skip
    assert still == [dead]  # the dead member's record is there; mlc status leaves it out
    tidy = EventProducer(bench.settings, f"{bench.group}-tidy")  # the shared broker's topic
    tidy.send(HOLDS_TOPIC.name, key=record_key(bench.group, "chan-c"), value=None)
    tidy.close()
