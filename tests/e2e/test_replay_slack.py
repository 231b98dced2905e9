"""`mlc replay slack-sink` on a run of 500 delivered commands, the sink as a process.

The sandbox's own counters measure every side effect (chat.postMessage calls, messages
stored) and every read (conversations.history). A dry run lists 500 skips and calls nothing;
resend-missing then a restarted sink posts nothing; force on 3 command ids posts exactly
those 3 again, each audited with the operator.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from chassis.audit import AUDIT_TOPIC
from mlc.stack import FlowStack, command_ids
from tests.e2e.conftest import wait_for_posts
from tests.e2e.replay_kit import (
    audit_since,
    committed,
    end_offsets,
    kafka_tool_reset,
    partitions_of,
    replay,
    stop,
    tombstone,
    wait_caught_up,
)
from tests.e2e.test_slack_sink import command, produce

pytestmark = pytest.mark.e2e

CHANNELS = [f"replay-{i:03d}" for i in range(100)]
PER_CHANNEL = 5


def _calls(stack: FlowStack) -> Counter[str]:
    """Every Web API call the sandbox answered, by method (refused ones too: a 429)."""
    return Counter(stack.get("/slack/_sandbox/stats")["calls"])


def _posted(stack: FlowStack) -> int:
    """Messages the sandbox stored (a post refused with a 429 stores none)."""
    return sum(stack.get("/slack/_sandbox/stats")["posted"].values())


def test_replay_of_500_delivered_slack_commands_repeats_nothing_and_forces_exactly_three(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str
) -> None:
    began = time.monotonic()
    stack = make_stack(invoices=0)
    stack.start_sandbox()
    admin = httpx.Client(base_url=f"{stack.base_url}/slack/_sandbox", timeout=30)
    for name in CHANNELS:
        admin.post("/channels", json={"name": name}).raise_for_status()
    group, topic = f"run-{stack.run_id}-sink", stack.topics.commands
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    commands = [command(c, n) for n in range(PER_CHANNEL) for c in CHANNELS]
    produce(kafka_bootstrap, topic, commands)
    stack.start("slack-sink")
    wait_for_posts(stack, {c.command_id for c in commands}, timeout=90)
    wait_caught_up(stack, kafka_bootstrap, group, [topic], timeout=60)
    stop(stack, "slack-sink", kafka_bootstrap, group)
    delivered = time.monotonic()
    calls = _calls(stack)
    assert _posted(stack) == 500  # calls may be more: a 429 when the loaded sink runs late

    # A dry run: one skip line per command, nothing called, not even offsets moved.
    offsets = committed(kafka_bootstrap, group, topic)
    dry = replay(stack, "slack-sink", "--from", since, "--mode", "dry-run", "--group", group)
    assert dry.code == 0, dry.err
    skips = [line for line in dry.lines if "skip: done as" in line]
    assert len(skips) == 500
    assert {line.split()[1] for line in skips} == {c.command_id for c in commands}
    assert "500 commands in the window of slack-sink" in dry.out
    assert ": 500 skip" in dry.out
    assert _calls(stack) == calls
    assert committed(kafka_bootstrap, group, topic) == offsets

    # resend-missing: offsets back to the start; the restarted sink skips all 500.
    resend = replay(stack, "slack-sink", "--from", since, "--group", group)
    assert resend.code == 0, resend.err
    assert "reset " + group in resend.out
    assert sum(committed(kafka_bootstrap, group, topic).values()) == 0
    stack.start("slack-sink")
    wait_caught_up(stack, kafka_bootstrap, group, [topic], timeout=60)
    posted = stack.posted()  # every record committed: handled, nothing more to come
    assert _calls(stack) == calls  # no post, no update, no history read
    assert Counter(command_ids(posted)) == Counter(c.command_id for c in commands)
    stop(stack, "slack-sink", kafka_bootstrap, group)

    # Kafka's own tool, the documented path: the ledger alone prevents every repeat.
    printed = kafka_tool_reset(kafka_bootstrap, group, [topic], to=datetime.fromisoformat(since))
    assert topic in printed
    assert sum(committed(kafka_bootstrap, group, topic).values()) == 0
    stack.start("slack-sink")
    wait_caught_up(stack, kafka_bootstrap, group, [topic], timeout=60)
    assert _calls(stack) == calls
    stop(stack, "slack-sink", kafka_bootstrap, group)

    # force on 3 commands: exactly those 3 posted again, each audited with the operator.
    forced = [commands[7], commands[250], commands[499]]
    audit_start = end_offsets(kafka_bootstrap, AUDIT_TOPIC.name)
    keys = [arg for c in forced for arg in ("--key", c.command_id)]
    force = replay(
        stack, "slack-sink", "--from", since, "--group", group, "--mode", "force", *keys,
        "--operator", "anna.replay", stdin="3\n",
    )  # fmt: skip
    assert force.code == 0, force.err
    stack.start("slack-sink")
    deadline = time.monotonic() + 60
    while _posted(stack) < 503 and time.monotonic() < deadline:
        stack.check_alive()
        time.sleep(0.5)
    wait_caught_up(stack, kafka_bootstrap, group, [topic], timeout=60)
    posted = stack.posted()  # every record committed: handled, nothing more to come
    assert _posted(stack) == 503
    twice = {i for i, n in Counter(command_ids(posted)).items() if n == 2}
    assert twice == {c.command_id for c in forced}
    audited = [
        e for e in audit_since(kafka_bootstrap, audit_start)
        if e["stage"] == "retried" and e["command_id"] in twice
    ]  # fmt: skip
    assert len(audited) == 3
    assert all("forced by anna.replay" in e["detail"] for e in audited)
    print(
        f"delivered 500 in {delivered - began:.1f} s; whole test {time.monotonic() - began:.1f} s"
    )


def test_twenty_deleted_ledger_entries_are_found_in_slack_by_metadata_and_not_posted_again(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str
) -> None:
    stack = make_stack(invoices=0)
    stack.start_sandbox()
    admin = httpx.Client(base_url=f"{stack.base_url}/slack/_sandbox", timeout=30)
    channels = CHANNELS[:20]
    for name in channels:
        admin.post("/channels", json={"name": name}).raise_for_status()
    group, topic = f"run-{stack.run_id}-sink", stack.topics.commands
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    commands = [command(c, n) for n in range(PER_CHANNEL) for c in channels]
    produce(kafka_bootstrap, topic, commands)
    stack.start("slack-sink")
    wait_for_posts(stack, {c.command_id for c in commands}, timeout=90)
    wait_caught_up(stack, kafka_bootstrap, group, [topic], timeout=60)
    running = replay(stack, "slack-sink", "--from", since, "--group", group)
    assert running.code == 2
    assert running.err.strip() == (
        f"mlc replay: group {group} has 1 running members: stop slack-sink first "
        "(kubectl scale deployment/slack-sink --replicas=0)"
    )
    stop(stack, "slack-sink", kafka_bootstrap, group)

    # 20 of the 100: one per channel, at each position in its channel.
    deleted = [commands[(i % PER_CHANNEL) * len(channels) + i] for i in range(20)]
    partitions = partitions_of(kafka_bootstrap, [topic])
    tombstone(kafka_bootstrap, stack.topics.ledger,
              [(c.command_id, partitions[c.command_id]) for c in deleted])  # fmt: skip
    calls = _calls(stack)

    dry = replay(stack, "slack-sink", "--from", since, "--group", group, "--mode", "dry-run")
    assert dry.code == 0, dry.err
    assert ": 80 skip, 20 look up" in dry.out
    assert _calls(stack) == calls

    resend = replay(stack, "slack-sink", "--from", since, "--group", group)
    assert resend.code == 0, resend.err
    found = [line for line in resend.lines if "-> found as" in line]
    assert sorted(line.split()[1] for line in found) == sorted(c.command_id for c in deleted)
    looked = _calls(stack) - calls
    # Reads only: one history page per command (channel ids known from the ledger).
    assert looked == Counter({"conversations.history": 20})
    stack.start("slack-sink")
    wait_caught_up(stack, kafka_bootstrap, group, [topic], timeout=60)
    posted = stack.posted()  # every record committed: handled, nothing more to come
    assert _calls(stack)["chat.postMessage"] == calls["chat.postMessage"]  # none after the reset
    assert _posted(stack) == 100
    assert Counter(command_ids(posted)) == Counter(c.command_id for c in commands)
    print("of the 20 deleted entries: 20 found in Slack by metadata (20 history reads), "
          "recorded done; 0 posted again")  # fmt: skip
