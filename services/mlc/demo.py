"""`mlc demo`: the first flow end to end on the local broker and the sandbox.

Starts the sandbox (simulated Visma.net ERP and Slack, seeded with three Nordic companies),
the visma-poller, the processor and the slack-sink as separate processes on topics of their
own for this run, shows progress, and ends with a summary of what moved and a check that
Slack received exactly the messages the rules call for: each once, none for invoices below
the thresholds.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from chassis.settings import KafkaSettings
from mlc.processes import ProcessError
from mlc.stack import DEFAULT_RULES, DEMO_TENANTS, ROOT, Expected, FlowStack, command_ids
from processor.rules import RulesFileError, load_rules


def add_demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--invoices", type=int, default=25, help="invoices per company (25)")
    p.add_argument("--seed", type=int, default=42, help="dataset seed (42)")
    p.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="rules file")
    p.add_argument("--port", type=int, default=18080, help="sandbox port (18080; 0 = any)")
    p.add_argument("--poll-interval", type=float, default=10.0, help="seconds between polls (10)")
    p.add_argument("--timeout", type=float, default=600.0, help="give up after (600 s)")
    p.add_argument(
        "--keep-running",
        action="store_true",
        help="leave everything running at the end and print how to stop it",
    )


def run_demo(args: argparse.Namespace) -> int:
    if args.invoices < 0 or args.poll_interval <= 0:
        print("mlc demo: --invoices must be >= 0 and --poll-interval > 0")
        return 2
    try:
        rules = load_rules(args.rules)
    except RulesFileError as exc:
        print(f"mlc demo: {exc}")
        return 2
    settings = KafkaSettings()
    if not _kafka_reachable(settings):
        print(
            f"mlc demo: no Kafka broker at {settings.bootstrap_servers}. Start one with "
            "`deploy/kafka/kafka.sh start` (`make demo` does it for you)."
        )
        return 1
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
    stack = FlowStack(
        run_id=run_id,
        state_dir=ROOT / ".state/demo" / run_id,
        rules=args.rules,
        invoices=args.invoices,
        seed=args.seed,
        port=args.port,
        poll_interval=args.poll_interval,
    )
    started = time.monotonic()
    print(f"demo run {run_id}: logs in {stack.state_dir}")
    ok = False
    try:
        stack.start_sandbox()
        expected = stack.expected(rules)
        print(
            f"sandbox at {stack.base_url}: {expected.invoices} supplier invoices in "
            f"{len(DEMO_TENANTS)} companies; the rules call for {len(expected.commands)} "
            "Slack messages"
        )
        stack.start_services()
        posted = _watch(stack, expected, started, args.timeout)
        ok = _summary(stack, expected, posted, time.monotonic() - started)
    except ProcessError as exc:
        print(f"mlc demo: {exc}")
    except KeyboardInterrupt:
        print("\ninterrupted")
    finally:
        children = list(stack.children.values())
        if args.keep_running and ok:
            pids = " ".join(str(c.pid) for c in children)
            (stack.state_dir / "pids").write_text(pids + "\n")
            print(f"left running: stop with `kill {pids}` (also in {stack.state_dir / 'pids'})")
        else:
            stack.stop()
    return 0 if ok else 1


def _kafka_reachable(settings: KafkaSettings) -> bool:
    try:
        AdminClient(settings.client_config("mlc-demo")).list_topics(timeout=5)
    except Exception:  # noqa: BLE001 - any failure means "not reachable", said to the user
        return False
    return True


def _watch(
    stack: FlowStack, expected: Expected, started: float, timeout: float
) -> list[dict[str, Any]]:
    want = len(expected.commands)
    last = ""
    while True:
        stack.check_alive()
        posted = stack.posted()
        per_channel = Counter(str(m["channel_name"]) for m in posted)
        line = f"posted {len(posted)}/{want}  " + "  ".join(
            f"{name} {n}" for name, n in sorted(per_channel.items())
        )
        elapsed = time.monotonic() - started
        if line != last:
            print(f"[{elapsed:5.1f}s] {line}", flush=True)
            last = line
        if set(command_ids(posted)) >= set(expected.commands) or elapsed > timeout:
            # A duplicate, if there were one, would show up within a pacing interval or two.
            time.sleep(2.5)
            return stack.posted()
        time.sleep(1.0)


def _summary(
    stack: FlowStack, expected: Expected, posted: list[dict[str, Any]], seconds: float
) -> bool:
    visma = stack.get("/visma/_sandbox/stats")
    slack = stack.get("/slack/_sandbox/stats")
    ids = command_ids(posted)
    per_channel = Counter(str(m["channel_name"]) for m in posted)
    missing = set(expected.commands) - set(ids)
    unexpected = set(ids) - set(expected.commands)
    duplicates = len(ids) - len(set(ids))
    matched = expected.invoices - expected.below_threshold
    print("\n== summary ==")
    print(
        f"supplier invoices in Visma : {expected.invoices} ({matched} match a rule, "
        f"{expected.below_threshold} below every threshold)"
    )
    print(
        f"Visma API calls            : {sum(visma.get('calls', {}).values())} "
        f"(429s: {sum(visma.get('rate_limited', {}).values())})"
    )
    print(
        "Slack messages per channel : "
        + ", ".join(f"{c} {n}" for c, n in sorted(per_channel.items()))
    )
    print(f"Slack 429s                 : {sum(slack.get('rate_limited', {}).values())}")
    print(f"time taken                 : {seconds:.1f} s")
    ok = not missing and not unexpected and not duplicates
    verdict = (
        "OK: every expected message posted exactly once, none below the thresholds"
        if ok
        else f"FAILED: {len(missing)} missing, {len(unexpected)} unexpected, "
        f"{duplicates} duplicates"
    )
    print(f"check                      : {verdict}")
    return ok
