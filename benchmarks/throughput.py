"""`python -m benchmarks.throughput`: the processor's rate as a ratio of a bare baseline.

One run on one broker: produce N mixed Visma events (every entity the processor routes) to
a fresh topic, time a bare confluent-kafka copy loop over it, time the real faust processor
with 50 rules and enrichment over the same topic, and (optionally) time the Slack sink
against the sandbox's rate limit. Prints a short table on stdout, progress on stderr, and
with --json the same figures for machines; --profile FILE says where the processor's time
goes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.baseline import run_baseline
from benchmarks.broker import (
    Collected,
    Progress,
    create_topics,
    produce,
)
from benchmarks.mixed_events import RULE_COUNT, routed_and_reference
from benchmarks.processor_rate import load_reference, run_processor, settings_for
from benchmarks.session import progress, run_session
from benchmarks.slack_rate import SlackResult, run_slack
from benchmarks.workload import Encoded
from chassis.serde import AvroSerde, SchemaCatalog


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput",
        description="Measure the processor's throughput against a bare confluent-kafka "
        "consume-produce loop on the same broker in the same run, and the Slack sink's "
        "posting rate against Slack's ceiling of 1 message per second per channel. "
        "Topics are fresh and deleted afterwards.",
    )
    parser.add_argument(
        "--events",
        type=_positive,
        default=20000,
        metavar="N",
        help="Visma events to push through (default 20000)",
    )
    parser.add_argument(
        "--partitions",
        type=_positive,
        default=6,
        help="partitions of the input and output topics (default 6)",
    )
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
        help="Kafka bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:19092)",
    )
    parser.add_argument(
        "--slack",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the Slack sink against the sandbox (default on)",
    )
    parser.add_argument(
        "--slack-channels",
        type=_positive,
        default=20,
        help="channels for the Slack run (default 20)",
    )
    parser.add_argument(
        "--slack-per-channel",
        type=_positive,
        default=10,
        help="messages per channel for the Slack run (default 10)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="deadline for each stage to deliver everything (default 300)",
    )
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="also write the results as JSON to FILE"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="run the processor under cProfile and write its statistics to FILE",
    )
    parser.add_argument(
        "--keep-topics",
        action="store_true",
        help="leave the run's topics on the broker for inspection",
    )
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace, *, run_id: str, workdir: Path, say: Progress) -> dict[str, Any]:
    serde = AvroSerde(SchemaCatalog.load())
    source, copied, commands = (f"{run_id}-{n}" for n in ("events", "copied", "commands"))
    create_topics(args.bootstrap, [source, copied, commands], partitions=args.partitions)
    events, reference = routed_and_reference(args.events)
    records = [Encoded(e.key.encode(), serde.encode(e.SCHEMA, e.to_record())) for e in events]
    produce(args.bootstrap, source, records)
    say(f"produced {len(records):,} events of {len({e.entity_type for e in events})} "
        f"entity types to {source}")  # fmt: skip

    say("baseline: bare confluent-kafka consume-produce loop")
    baseline, wall = run_baseline(
        args.bootstrap,
        source=source,
        target=copied,
        expected=args.events,
        timeout=args.timeout,
        progress=say,
    )
    say(f"baseline: {baseline.rate():,.0f} events/s over {baseline.span_seconds:.2f}s")

    settings = settings_for(run_id, source=source, target=commands)
    load_reference(args.bootstrap, settings, reference, serde)
    say(f"processor: {RULE_COUNT} rules, {len(reference)} reference records for enrichment")
    processor = run_processor(
        args.bootstrap,
        settings=settings,
        expected=args.events,
        timeout=args.timeout,
        workdir=workdir,
        serde=serde,
        progress=say,
        profile=args.profile,
    )
    say(f"processor: {processor.events.rate():,.0f} events/s over "
        f"{processor.events.span_seconds:.2f}s, {processor.commands:,} commands")  # fmt: skip
    results = {
        "events": args.events,
        "partitions": args.partitions,
        "bootstrap": args.bootstrap,
        "baseline": {**_figures(baseline), "wall_seconds": round(wall, 3)},
        "processor": {
            **_figures(processor.events),
            "rules": RULE_COUNT,
            "commands": processor.commands,
        },
        "ratio": processor.events.rate() / baseline.rate(),
        "slack": None,
    }
    if args.slack:
        say(f"slack: sandbox and slack sink, {args.slack_channels} channels")
        slack = run_slack(
            args.bootstrap,
            run_id=run_id,
            channels=args.slack_channels,
            per_channel=args.slack_per_channel,
            timeout=args.timeout,
            workdir=workdir,
            serde=serde,
            progress=say,
        )
        results["slack"] = _slack_figures(slack)
    return results


def _figures(collected: Collected) -> dict[str, Any]:
    return {
        "events_per_second": round(collected.rate(), 1),
        "outputs": collected.records,
        "distinct_events": collected.distinct,
        "span_seconds": collected.span_seconds,
    }


def _slack_figures(slack: SlackResult) -> dict[str, Any]:
    return {
        "channels": slack.channels,
        "posted": slack.posted,
        "messages_per_second": round(slack.rate, 2),
        "ceiling_per_second": slack.ceiling,
        "share_of_ceiling": round(slack.rate / slack.ceiling, 4),
        "rate_limited_429": slack.rate_limited,
        "span_seconds": slack.span_seconds,
    }


RATIO_TARGET = 0.3
"""Issue 4: the processor at no less than this share of the bare loop's events per second."""


def table(results: dict[str, Any]) -> str:
    lines = [
        f"bare consume-produce   : {results['baseline']['events_per_second']:,.0f} events/s",
        f"processor (50 rules)   : {results['processor']['events_per_second']:,.0f} events/s "
        f"({results['processor']['commands'] / results['events']:.1f} commands per event, "
        "with enrichment)",
        f"ratio                  : {results['ratio']:.3g} (target >= {RATIO_TARGET}: "
        f"{'ok' if results['ratio'] >= RATIO_TARGET else 'MISSED'})",
    ]
    slack = results["slack"]
    if slack is not None:
        label = f"slack sink, {slack['channels']} channels"
        lines.append(
            f"{label:<23}: {slack['messages_per_second']:.1f} msg/s = "
            f"{slack['share_of_ceiling']:.0%} of {slack['ceiling_per_second']:.0f}/s, "
            f"{slack['rate_limited_429']} x 429"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    say = progress()
    started = time.monotonic()

    def timed(
        args: argparse.Namespace, *, run_id: str, workdir: Path, say: Progress
    ) -> dict[str, Any]:
        say(
            f"run {run_id}: {args.events:,} events, {args.partitions} partitions, "
            f"broker {args.bootstrap}"
        )
        results = run(args, run_id=run_id, workdir=workdir, say=say)
        results["duration_seconds"] = round(time.monotonic() - started, 1)
        return results

    outcome = run_session(args, timed, say=say)
    if isinstance(outcome, int):
        return outcome
    print(table(outcome))
    if args.json:
        args.json.write_text(json.dumps(outcome, indent=2) + "\n", encoding="utf-8")
        say(f"wrote {args.json}")
    say(f"done in {outcome['duration_seconds']:.1f}s")
    return 0 if outcome["ratio"] >= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
