"""The Slack sink's two promises, measured: `python -m benchmarks.slack_sink`.

1. Pace: 50 channels, 1,000 messages over 3 partitions. Zero 429s from the sandbox, and a
   total posting rate of at least 95% of the ceiling (one post per second per channel = 50/s).
2. Backlog: one channel with 500 messages while 49 others get 20 each. Digests must clear the
   backlog in under a minute while the other channels keep posting at their own pace.
3. Latency: 20 channels x 20 messages while every chat.postMessage takes 100 ms longer to
   reach Slack's limiter (a sandbox delay fault). Pacing counts from the start of the
   previous post, so the rate must stay at least 95% of the ceiling (20/s) with zero 429s;
   counted from Slack's answer it fell to about 90%.

The sandbox plays Slack with its real per-channel limit; the sink runs as deployed (a
subprocess). Each figure is printed with the target it is held to.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.broker import BenchmarkError, delete_topics_containing, ensure_reachable
from benchmarks.processes import ChildError
from benchmarks.slack_rate import SlackResult, command_ids, run_slack
from benchmarks.workload import slack_command
from chassis.serde import AvroSerde, SchemaCatalog
from events import PostSlackMessage

PACE_TARGET = 0.95
LATENCY_SECONDS = 0.1
LATENCY_CHANNELS = 20
STAGES = ("pace", "backlog", "latency")
BACKLOG_SECONDS_TARGET = 60.0
SECONDS_PER_MESSAGE = 1.005
"""The sink's default pause per channel: the pace a channel 'keeps'."""


@dataclass(frozen=True)
class BacklogFigures:
    commands: int
    digests: int
    cleared_seconds: float
    """From the first post of the run to the last backlog command delivered."""
    others_rate_min: float
    others_rate_median: float
    rate_limited: int


def _commands(
    backlog: str, others: list[str], *, backlog_size: int, per_other: int
) -> list[PostSlackMessage]:
    """Interleaved as a processor would emit them: each round, one for every channel."""
    created = datetime.now(UTC)
    commands = []
    for round_ in range(max(backlog_size, per_other)):
        channels = ([backlog] if round_ < backlog_size else []) + (
            others if round_ < per_other else []
        )
        for channel in channels:
            text = f"Benchmark message {round_ + 1} to #{channel}"
            commands.append(slack_command(channel, round_, text=text, created=created))
    return commands


def backlog_figures(result: SlackResult, backlog: str) -> BacklogFigures:
    by_channel: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for message in result.messages:
        at = datetime.fromisoformat(message["posted_at"])
        by_channel[message["channel_name"]].append((at, len(command_ids(message))))
    start = min(at for posts in by_channel.values() for at, _ in posts)
    mine = by_channel.pop(backlog)
    rates = [
        sum(n for _, n in posts)
        / ((posts[-1][0] - posts[0][0]).total_seconds() + SECONDS_PER_MESSAGE)
        for posts in by_channel.values()
    ]
    return BacklogFigures(
        commands=sum(n for _, n in mine),
        digests=sum(1 for _, n in mine if n > 1),
        cleared_seconds=(mine[-1][0] - start).total_seconds(),
        others_rate_min=min(rates),
        others_rate_median=statistics.median(rates),
        rate_limited=result.rate_limited,
    )


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _pace_line(label: str, result: SlackResult, partitions: int) -> str:
    share = result.rate / result.ceiling
    return (
        f"{label}: {result.posted} messages, {result.channels} channels, {partitions} partitions: "
        f"{result.rate:.1f} msg/s = {share:.1%} of {result.ceiling:.0f}/s "
        f"(target >= {PACE_TARGET:.0%}) {_verdict(share >= PACE_TARGET)}; "
        f"{result.rate_limited} x 429 {_verdict(result.rate_limited == 0)}"
    )


def latency_report(result: SlackResult, partitions: int, latency: float) -> str:
    label = f"latency (+{latency * 1000:.0f} ms per post)"
    return _pace_line(label, result, partitions)


def report(pace: SlackResult, backlog: BacklogFigures) -> str:
    own_pace = 1.0 / SECONDS_PER_MESSAGE
    return "\n".join(
        [
            _pace_line("pace   ", pace, 3),
            f"backlog: {backlog.commands} messages on one channel cleared in "
            f"{backlog.cleared_seconds:.1f}s with {backlog.digests} digests "
            f"(target < {BACKLOG_SECONDS_TARGET:.0f}s) "
            f"{_verdict(backlog.cleared_seconds < BACKLOG_SECONDS_TARGET)}",
            f"others : per-channel rate min {backlog.others_rate_min:.3f}/s, median "
            f"{backlog.others_rate_median:.3f}/s, vs {pace.rate / pace.channels:.3f}/s per "
            f"channel in the pace run (configured pace {own_pace:.3f}/s); "
            f"{backlog.rate_limited} x 429 {_verdict(backlog.rate_limited == 0)}",
            f"load   : {os.getloadavg()[0]:.1f} (1-minute load average on {os.cpu_count()} CPUs)",
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.slack_sink", description=__doc__)
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
        help="Kafka bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:19092)",
    )
    parser.add_argument("--channels", type=int, default=50, help="channels (default 50)")
    parser.add_argument("--per-channel", type=int, default=20, help="pace run (default 20)")
    parser.add_argument("--backlog", type=int, default=500, help="backlog size (default 500)")
    parser.add_argument("--partitions", type=int, default=3, help="(default 3)")
    parser.add_argument(
        "--digest-backlog", type=int, default=30, help="the sink's --digest-backlog (default 30)"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=LATENCY_SECONDS,
        help=f"latency stage: seconds added to every post (default {LATENCY_SECONDS})",
    )
    parser.add_argument(
        "--seconds-per-message",
        type=float,
        default=SECONDS_PER_MESSAGE,
        help=f"the sink's --seconds-per-message (default {SECONDS_PER_MESSAGE})",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="per run (default 300s)")
    parser.add_argument(
        "--stages",
        default=",".join(STAGES),
        help=f"comma-separated stages to run (default {','.join(STAGES)}; pace and backlog "
        "report together)",
    )
    return parser.parse_args(argv)


def _say(line: str) -> None:
    print(f"[slack-sink bench] {line}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix=f"{run_id}-"))
    for stage in ("pace", "backlog"):
        (workdir / stage).mkdir()
    serde = AvroSerde(SchemaCatalog.load())
    common: dict[str, Any] = {
        "timeout": args.timeout,
        "serde": serde,
        "progress": _say,
        "partitions": args.partitions,
        "sink_args": (
            "--digest-backlog",
            str(args.digest_backlog),
            "--seconds-per-message",
            str(args.seconds_per_message),
        ),
    }
    stages = {stage.strip() for stage in args.stages.split(",") if stage.strip()}
    lines: list[str] = []
    try:
        ensure_reachable(args.bootstrap)
        if {"pace", "backlog"} & stages:
            lines.append(_pace_and_backlog(args, run_id, workdir, common))
        if "latency" in stages:
            (workdir / "latency").mkdir()
            _say(f"latency: {LATENCY_CHANNELS} channels x {args.per_channel}, +{args.latency}s")
            latency = run_slack(
                args.bootstrap, run_id=f"{run_id}-latency", channels=LATENCY_CHANNELS,
                per_channel=args.per_channel, workdir=workdir / "latency",
                faults=[{"path_prefix": "/api/chat.postMessage", "times": None,
                         "delay_seconds": args.latency}],
                **common,
            )  # fmt: skip
            lines.append(latency_report(latency, args.partitions, args.latency))
    except (BenchmarkError, ChildError) as exc:
        print(f"error: {exc} (logs in {workdir})", file=sys.stderr)
        return 1
    finally:
        delete_topics_containing(args.bootstrap, run_id)
    print("\n".join(lines))
    return 0


def _pace_and_backlog(
    args: argparse.Namespace, run_id: str, workdir: Path, common: dict[str, Any]
) -> str:
    _say(f"pace: {args.channels} channels x {args.per_channel}")
    pace = run_slack(
        args.bootstrap, run_id=f"{run_id}-pace", channels=args.channels,
        per_channel=args.per_channel, workdir=workdir / "pace", **common,
    )  # fmt: skip
    names = [f"bench-{n:02d}" for n in range(1, args.channels + 1)]
    _say(f"backlog: {args.backlog} on {names[0]}, {args.per_channel} on each other channel")
    commands = _commands(names[0], names[1:], backlog_size=args.backlog, per_other=args.per_channel)
    backlog = run_slack(
        args.bootstrap, run_id=f"{run_id}-backlog", channels=args.channels,
        per_channel=args.per_channel, workdir=workdir / "backlog", commands=commands,
        **common,
    )  # fmt: skip
    return report(pace, backlog_figures(backlog, names[0]))


if __name__ == "__main__":
    sys.exit(main())
