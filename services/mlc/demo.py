"""`mlc demo`: the first flow end to end on the local broker and the sandbox.

Starts the sandbox (Visma and Slack simulators seeded with Nordic companies), the
visma-poller, the processor and the slack-sink as separate processes on topics of their own
for this run, shows progress, and ends with a summary of what moved and a check that Slack
received exactly the messages the rules call for: each once, none for invoices below the
thresholds.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml
from confluent_kafka.admin import AdminClient

from chassis.settings import KafkaSettings
from mlc.processes import Child, ProcessError, python_module
from processor.routing import route
from processor.rules import RuleSet, load_rules
from visma_client.models import SupplierInvoiceDto
from visma_poller.mapping import supplier_invoice_event

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES = ROOT / "services/processor/rules.example.yaml"
DEMO_TENANTS = ("tenant-se-1", "tenant-no-1", "tenant-dk-1")
DEMO_SECRETS = {"VISMA_CLIENT_SECRET": "mlc-demo-secret", "SLACK_BOT_TOKEN": "xoxb-mlc-demo-token"}


def add_demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--invoices", type=int, default=25, help="invoices per company (25)")
    p.add_argument("--seed", type=int, default=42, help="dataset seed (42)")
    p.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="rules file")
    p.add_argument("--port", type=int, default=18080, help="sandbox port (18080)")
    p.add_argument("--poll-interval", type=float, default=5.0, help="seconds between polls (5)")
    p.add_argument("--timeout", type=float, default=600.0, help="give up after (600 s)")
    p.add_argument(
        "--keep-running",
        action="store_true",
        help="leave everything running at the end and print how to stop it",
    )


@dataclass
class Expected:
    invoices: int
    commands: dict[str, str]  # command id -> channel
    below_threshold: int


def run_demo(args: argparse.Namespace) -> int:
    if args.invoices < 0 or args.poll_interval <= 0:
        print("mlc demo: --invoices must be >= 0 and --poll-interval > 0")
        return 2
    rules = load_rules(args.rules)
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
    state = ROOT / ".state/demo" / run_id
    settings = KafkaSettings()
    if not _kafka_reachable(settings):
        print(
            f"mlc demo: no Kafka broker at {settings.bootstrap_servers}. Start one with "
            "`deploy/kafka/kafka.sh start` (`make demo` does it for you)."
        )
        return 1
    base = f"http://127.0.0.1:{args.port}"
    children = _children(args, run_id, state, base)
    started = time.monotonic()
    print(f"demo run {run_id}: logs in {state}")
    try:
        sandbox = children[0].start()
        sandbox.wait_for_log("sandbox listening", timeout=60)
        expected = _expected(base, rules)
        print(
            f"sandbox: {expected.invoices} supplier invoices in {len(DEMO_TENANTS)} companies; "
            f"rules call for {len(expected.commands)} Slack messages"
        )
        for child in children[1:]:
            child.start()
        posted = _watch(children, base, expected, started, args.timeout)
        ok = _summary(base, expected, posted, time.monotonic() - started)
    except ProcessError as exc:
        print(f"mlc demo: {exc}")
        ok = False
    except KeyboardInterrupt:
        print("\ninterrupted")
        ok = False
    finally:
        if args.keep_running and all(c.alive() for c in children):
            pids = " ".join(str(c.pid) for c in children)
            (state / "pids").write_text(pids + "\n")
            print(f"left running: stop with `kill {pids}` (pids also in {state / 'pids'})")
        else:
            for child in reversed(children):
                child.stop()
    return 0 if ok else 1


def _kafka_reachable(settings: KafkaSettings) -> bool:
    try:
        AdminClient(settings.client_config("mlc-demo")).list_topics(timeout=5)
    except Exception:  # noqa: BLE001 - any failure means "not reachable", said to the user
        return False
    return True


def _children(args: argparse.Namespace, run_id: str, state: Path, base: str) -> list[Child]:
    topics = {
        "events": f"demo.{run_id}.visma.supplier-invoice.v1",
        "commands": f"demo.{run_id}.sink.slack.v1",
        "cursors": f"demo.{run_id}.state.poll-cursor.v1",
        "ledger": f"demo.{run_id}.state.slack-ledger.v1",
    }
    config = {
        "token_url": f"{base}/visma/connect/token",
        "api_base": f"{base}/visma",
        "companies": [
            {
                "tenant_id": t,
                "company_id": t,
                "client_id": "mlc-demo",
                "client_secret_env": "VISMA_CLIENT_SECRET",
                "poll_interval_seconds": args.poll_interval,
                "hourly_budget": 500,
            }
            for t in DEMO_TENANTS
        ],
    }
    state.mkdir(parents=True, exist_ok=True)
    (state / "visma.yaml").write_text(yaml.safe_dump(config))
    env = DEMO_SECRETS | {
        "MLC_PROCESSOR_APP_ID": f"demo-{run_id}-processor",
        "MLC_PROCESSOR_INPUT_TOPIC": topics["events"],
        "MLC_PROCESSOR_OUTPUT_TOPIC": topics["commands"],
    }
    return [
        Child(
            "sandbox",
            python_module(
                "sandbox",
                "--port",
                str(args.port),
                "--invoices",
                str(args.invoices),
                "--seed",
                str(args.seed),
            ),
            state / "sandbox.log",
        ),
        Child(
            "visma-poller",
            python_module(
                "visma_poller",
                "--config",
                str(state / "visma.yaml"),
                "--transactional-id",
                f"demo-{run_id}-poller",
                "--events-topic",
                topics["events"],
                "--cursor-topic",
                topics["cursors"],
            ),
            state / "visma-poller.log",
            env,
        ),
        Child(
            "processor",
            python_module("processor", "--rules", str(args.rules)),
            state / "processor.log",
            env,
        ),
        Child(
            "slack-sink",
            python_module(
                "slack_sink",
                "--api-base",
                f"{base}/slack/api",
                "--group-id",
                f"demo-{run_id}-sink",
                "--commands-topic",
                topics["commands"],
                "--ledger-topic",
                topics["ledger"],
            ),
            state / "slack-sink.log",
            env,
        ),
    ]


def _expected(base: str, rules_set: RuleSet) -> Expected:
    invoices = httpx.get(f"{base}/visma/_sandbox/invoices", timeout=30).json()
    commands: dict[str, str] = {}
    below = 0
    for raw in invoices:
        dto = SupplierInvoiceDto.model_validate(raw)
        event = supplier_invoice_event(
            dto, tenant_id=raw["company"], company_id=raw["company"], observed_at=datetime.now(UTC)
        )
        routed = route(event, rules_set)
        below += not routed
        commands.update({c.command_id: c.channel for c in routed})
    return Expected(len(invoices), commands, below)


def _posted(base: str) -> list[dict[str, object]]:
    messages: list[dict[str, object]] = httpx.get(
        f"{base}/slack/_sandbox/messages", timeout=30
    ).json()
    return messages


def _command_ids(messages: list[dict[str, object]]) -> list[str]:
    ids = []
    for m in messages:
        meta = m.get("metadata")
        payload = meta.get("event_payload") if isinstance(meta, dict) else None
        if isinstance(payload, dict) and "command_id" in payload:
            ids.append(str(payload["command_id"]))
    return ids


def _watch(
    children: list[Child], base: str, expected: Expected, started: float, timeout: float
) -> list[dict[str, object]]:
    want = len(expected.commands)
    last = ""
    while True:
        for child in children:
            child.check()
        posted = _posted(base)
        per_channel = Counter(str(m["channel_name"]) for m in posted)
        line = f"posted {len(posted)}/{want}  " + "  ".join(
            f"{name} {n}" for name, n in sorted(per_channel.items())
        )
        elapsed = time.monotonic() - started
        if line != last:
            print(f"[{elapsed:5.1f}s] {line}", flush=True)
            last = line
        if set(_command_ids(posted)) >= set(expected.commands) or elapsed > timeout:
            # Give a duplicate, if any, a moment to show up before judging.
            time.sleep(2.0)
            return _posted(base)
        time.sleep(1.0)


def _summary(
    base: str, expected: Expected, posted: list[dict[str, object]], seconds: float
) -> bool:
    visma = httpx.get(f"{base}/visma/_sandbox/stats", timeout=30).json()
    slack = httpx.get(f"{base}/slack/_sandbox/stats", timeout=30).json()
    ids = _command_ids(posted)
    per_channel = Counter(str(m["channel_name"]) for m in posted)
    missing = set(expected.commands) - set(ids)
    unexpected = set(ids) - set(expected.commands)
    duplicates = len(ids) - len(set(ids))
    print("\n== summary ==")
    print(
        f"supplier invoices in Visma : {expected.invoices} "
        f"({expected.invoices - expected.below_threshold} match a rule, "
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
        "OK: every expected message posted exactly once"
        if ok
        else (
            f"FAILED: {len(missing)} missing, {len(unexpected)} unexpected, {duplicates} duplicates"
        )
    )
    print(f"check                      : {verdict}")
    return ok
