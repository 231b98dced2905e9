"""Issue 9 acceptance: a 5-minute Slack outage in the middle of 200 commands.

The sandbox's clock runs 8 times faster than real time, so its 5 minutes of answering 503
to every call (or 429), each with a Retry-After of 30 s that the sandbox hands out as the 4
real seconds they take, last 37.5 real seconds: longer than the 15 to 31 s in which the
runner used to give up (six attempts). The real slack-sink, on the real broker, must
dead-letter nothing, post every command exactly once after the outage, and keep each
channel's order.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition

from mlc.stack import FlowStack, command_ids
from tests.e2e.conftest import settle, wait_for_posts
from tests.e2e.test_slack_sink import command, produce

pytestmark = pytest.mark.e2e

SPEED = 8.0
OUTAGE = 300
"""Sandbox seconds of outage: 37.5 real seconds at SPEED."""
CHANNELS = [f"ap-team-{i:02d}" for i in range(20)]


def _dead_lettered(kafka: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": f"{topic}-count"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        total = 0
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()


def _wait_for_count(stack: FlowStack, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        posted = len(stack.posted())
        if posted >= count:
            return posted
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} posts within {timeout}s")


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            {"status": 503, "error": "service_unavailable", "retry_after": 30},
            id="503-to-everything",
        ),
        pytest.param({"status": 429, "error": "ratelimited", "retry_after": 30}, id="429s"),
    ],
)
def test_a_five_minute_outage_in_the_middle_of_200_commands_loses_and_repeats_nothing(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, fault: dict[str, object]
) -> None:
    stack = make_stack(invoices=0, sandbox_args=("--clock-speed", str(SPEED)))
    stack.start_sandbox()
    for name in CHANNELS:
        httpx.post(
            f"{stack.base_url}/slack/_sandbox/channels", json={"name": name}, timeout=10
        ).raise_for_status()
    commands = [command(c, n) for n in range(10) for c in CHANNELS]
    produce(kafka_bootstrap, stack.topics.commands, commands)
    stack.start("slack-sink")

    before = _wait_for_count(stack, 30, timeout=90)
    outage = httpx.post(
        f"{stack.base_url}/slack/_sandbox/faults",
        json={**fault, "times": None, "for_seconds": OUTAGE},
        timeout=10,
    )
    outage.raise_for_status()
    ends_at = float(outage.json()["ends_at"])
    starts_at = ends_at - OUTAGE
    assert before < len(commands), "the outage starts in the middle of the run"

    wait_for_posts(stack, {c.command_id for c in commands}, timeout=180)
    posted = settle(stack, 2.5)

    fired = stack.get("/slack/_sandbox/faults/fired")["by_status"]
    assert fired.get(str(fault["status"]), 0) >= len(CHANNELS), "the outage was served"
    assert Counter(command_ids(posted)) == Counter(c.command_id for c in commands)
    during = [
        m
        for m in posted
        if starts_at < datetime.fromisoformat(m["posted_at"]).timestamp() < ends_at
    ]
    assert during == [], "nothing reached Slack during the outage"
    for channel in CHANNELS:
        texts = [m["text"] for m in posted if m["channel_name"] == channel]
        assert texts == [f"invoice {n} for {channel}" for n in range(10)]
    assert _dead_lettered(kafka_bootstrap, f"dlq.run-{stack.run_id}-sink.v1") == 0
