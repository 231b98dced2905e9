"""How close the Slack sink gets to Slack's ceiling of one post per second per channel.

The sandbox (a subprocess) plays Slack with its real per-channel rate limit; the sink (a
subprocess, as deployed) drains a fresh commands topic with `channels` channels of
`per_channel` messages each. The rate counts the last post of each channel as a full slot
(`posts / (last - first + 1 s)`), so a perfect 1/s per channel reads exactly as the ceiling.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.broker import BenchmarkError, Progress, create_topics, produce
from benchmarks.processes import Child
from benchmarks.workload import encode_commands, slack_commands
from chassis.serde import AvroSerde
from events import PostSlackMessage

BOT_TOKEN = "xoxb-mlc-demo-token"  # noqa: S105 - the sandbox's published demo credential
COMMAND_PARTITIONS = 6
"""As many as the real commands topic, so channels share partitions as in production."""
LISTENING = r"sandbox listening on (http://\S+)"


@dataclass(frozen=True)
class SlackResult:
    posted: int
    channels: int
    rate_limited: int
    span_seconds: float
    messages: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """What the sandbox received, in order (a digest message stands for several commands)."""

    @property
    def rate(self) -> float:
        return self.posted / (self.span_seconds + 1.0)

    @property
    def ceiling(self) -> float:
        return float(self.channels)


def run_slack(
    bootstrap: str,
    *,
    run_id: str,
    channels: int,
    per_channel: int,
    timeout: float,
    workdir: Path,
    serde: AvroSerde,
    progress: Progress,
    partitions: int = COMMAND_PARTITIONS,
    commands: Sequence[PostSlackMessage] | None = None,
    sink_args: Sequence[str] = (),
    faults: Sequence[dict[str, Any]] = (),
) -> SlackResult:
    """`faults` are sandbox fault rules set before the sink starts (e.g. a fixed latency)."""
    sandbox = Child("sandbox", ["--port", "0"], log_path=workdir / "sandbox.log", cwd=workdir)
    with sandbox:
        base = sandbox.wait_for_line(LISTENING, timeout=30).group(1)
        progress(f"sandbox listening on {base}")
        with httpx.Client(base_url=f"{base}/slack/_sandbox", timeout=10) as admin:
            names = [f"bench-{n:02d}" for n in range(1, channels + 1)]
            for name in names:
                admin.post("/channels", json={"name": name}).raise_for_status()
            for rule in faults:
                admin.post("/faults", json=rule).raise_for_status()
            commands_topic = f"{run_id}-slack-commands"
            create_topics(bootstrap, [commands_topic], partitions=partitions)
            wanted = commands or list(slack_commands(names, per_channel=per_channel))
            records = encode_commands(serde, iter(wanted))
            produce(bootstrap, commands_topic, records)
            progress(f"produced {len(records)} commands for {channels} channels")
            sink_args = ["--commands-partitions", str(partitions), *sink_args]
            sink = _sink(bootstrap, run_id, base, commands_topic, workdir, sink_args)
            with sink:
                progress(f"slack sink started (pid {sink.process.pid}, log {sink.log_path})")
                messages = _wait_for_posts(admin, len(records), timeout, sink, progress)
                stats = admin.get("/stats").raise_for_status().json()
            progress("all messages posted; slack sink stopped")
    posted = sorted(datetime.fromisoformat(m["posted_at"]) for m in messages)
    return SlackResult(
        posted=sum(len(command_ids(m)) for m in messages),
        channels=channels,
        rate_limited=sum(stats["rate_limited"].values()),
        span_seconds=(posted[-1] - posted[0]).total_seconds(),
        messages=messages,
    )


def command_ids(message: dict[str, Any]) -> list[str]:
    """The commands one posted message delivers: its own, or every one a digest lists."""
    payload = (message.get("metadata") or {}).get("event_payload") or {}
    if "command_ids" in payload:
        return [str(i) for i in payload["command_ids"]]
    return [str(payload["command_id"])] if "command_id" in payload else []


def _sink(
    bootstrap: str,
    run_id: str,
    base: str,
    commands_topic: str,
    workdir: Path,
    sink_args: Sequence[str] = (),
) -> Child:
    return Child(
        "slack_sink",
        [
            "--api-base",
            f"{base}/slack/api",
            "--group-id",
            f"{run_id}-slack-sink",
            "--commands-topic",
            commands_topic,
            "--ledger-topic",
            f"{run_id}-slack-ledger",
            *sink_args,
        ],
        log_path=workdir / "slack_sink.log",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "MLC_LOG_LEVEL": "WARNING",
        },
        cwd=workdir,
    )


def _wait_for_posts(
    admin: httpx.Client, expected: int, timeout: float, sink: Child, progress: Progress
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    next_report = time.monotonic() + 2
    while True:
        messages: list[dict[str, Any]] = admin.get("/messages").raise_for_status().json()
        delivered = sum(len(command_ids(m)) for m in messages)
        if delivered >= expected:
            return messages
        sink.check_alive()
        if time.monotonic() > deadline:
            raise BenchmarkError(f"only {delivered} of {expected} posted in {timeout}s")
        if time.monotonic() >= next_report:
            progress(f"slack: {delivered} / {expected} posted")
            next_report = time.monotonic() + 2
        time.sleep(0.2)
