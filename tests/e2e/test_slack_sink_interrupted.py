"""SIGKILL of the Slack sink while its posts are in Slack but not yet DONE in its ledger.

Four channels each have 5,000 earlier messages. Every channel gets one post through, then
the sandbox stores each next post but holds its answer, and the sink is SIGKILLed with a
PENDING entry per channel (one of them a thread reply). The restarted sink must find each
interrupted post by the channel's ID with `oldest` (one call per lookup: history, or
replies for the thread reply), post nothing twice and dead-letter nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from mlc.stack import FlowStack, command_ids
from tests.e2e.test_slack_sink import command, produce

pytestmark = pytest.mark.e2e

CHANNELS = ["hist-a", "hist-b", "hist-c", "hist-thread"]
EARLIER = 5_000
HELD_SECONDS = 10.0
"""How long the sandbox holds each answer: far past the moment of the kill."""


def _bot_messages(stack: FlowStack) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = stack.get("/slack/_sandbox/messages?from_bot=true")
    return found


def _wait_for(stack: FlowStack, want: set[str], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not set(command_ids(_bot_messages(stack))) >= want:
        assert time.monotonic() < deadline, "posts did not arrive in time"
        stack.check_alive()
        time.sleep(0.3)


def _dead_lettered(kafka: str, topic: str) -> int:
    """Records ever written to the DLQ topic (0 when it was never created)."""
    if topic not in AdminClient({"bootstrap.servers": kafka}).list_topics(timeout=10).topics:
        return 0
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": f"{topic}-count"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in metadata.partitions
        )
    finally:
        consumer.close()


def test_sigkill_with_pending_posts_finds_each_by_channel_id_and_oldest(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = make_stack(invoices=0)
    # A static member, as the sink runs in a StatefulSet: the restarted sink takes its
    # partitions back at once instead of waiting for the killed one's session to expire.
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", f"slack-sink-{stack.run_id}")
    stack.start_sandbox()
    admin = httpx.Client(base_url=f"{stack.base_url}/slack/_sandbox", timeout=30)
    for name in CHANNELS:
        admin.post("/channels", json={"name": name}).raise_for_status()
        seeded = admin.post(
            f"/channels/{name}/history",
            json={"count": EARLIER, "spacing_seconds": 30, "ended_seconds_ago": 3600},
        )
        assert seeded.json()["seeded"] == EARLIER
    earlier = admin.get("/messages", params={"channel": "hist-thread", "from_bot": False}).json()
    parent_ts = earlier[-1]["ts"]

    # 1. One post per channel goes through: the ledger learns each channel's ID.
    first = [command(name, 0) for name in CHANNELS]
    produce(kafka_bootstrap, stack.topics.commands, first)
    stack.start("slack-sink")
    _wait_for(stack, {c.command_id for c in first}, timeout=60)

    # 2. The next posts land in Slack, but their answers never reach the sink before it dies.
    admin.post(
        "/faults",
        json={"path_prefix": "/api/chat.postMessage", "times": None,
              "delay_after_seconds": HELD_SECONDS},
    ).raise_for_status()  # fmt: skip
    interrupted = [command(name, 1) for name in CHANNELS]
    interrupted[-1] = interrupted[-1].model_copy(update={"thread_ts": parent_ts})
    rest = [command(name, 2) for name in CHANNELS]
    produce(kafka_bootstrap, stack.topics.commands, [*interrupted, *rest])
    _wait_for(stack, {c.command_id for c in interrupted}, timeout=60)
    stack.children["slack-sink"].kill()
    admin.delete("/faults").raise_for_status()
    before = admin.get("/stats").json()["calls"]

    # 3. The restarted sink finds the four interrupted posts and posts only the rest.
    stack.start("slack-sink")
    everything = [*first, *interrupted, *rest]
    _wait_for(stack, {c.command_id for c in everything}, timeout=120)
    settle_until = time.monotonic() + 3.0  # two pacing intervals for a late duplicate
    while time.monotonic() < settle_until:
        stack.check_alive()
        time.sleep(0.5)

    posted = _bot_messages(stack)
    assert Counter(command_ids(posted)) == Counter(c.command_id for c in everything)
    [reply] = [m for m in posted if command_ids([m]) == [interrupted[-1].command_id]]
    assert reply["thread_ts"] == parent_ts
    after = admin.get("/stats").json()["calls"]
    reads = ["conversations.history", "conversations.replies", "conversations.list"]
    lookups = {m: after.get(m, 0) - before.get(m, 0) for m in reads}
    # One call per lookup: history for each top-level post, replies for the thread reply,
    # no channel list (the ledger knew every ID), no second page despite 5,000 messages.
    assert lookups == {
        "conversations.history": 3,
        "conversations.replies": 1,
        "conversations.list": 0,
    }
    assert _dead_lettered(kafka_bootstrap, f"dlq.run-{stack.run_id}-sink.v1") == 0
