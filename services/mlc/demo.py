"""`mlc demo`: Visma invoices to Slack and approvals back, end to end on the local broker.

Starts the sandbox (simulated Visma.net ERP and Slack, seeded with three Nordic companies),
then every service as a separate process on topics of its own for this run: visma-poller,
processor, slack-sink, ingress, approvals, visma-writer. It shows progress and checks that
Slack received exactly the messages the rules call for (each once, none below the
thresholds). Then an approver reacts on one posted invoice and someone who may not approve
on another, as people do in Slack, and it checks that Visma released the approved invoice
exactly once, ignored the other reaction and confirmed in the approved message's thread,
and, once the released version reached Slack, counts every post again: the approved
invoice's messages were updated in place, no second post. The Twilio part
(`mlc.demo_twilio`) and the Monday part (`mlc.demo_monday`: invoices and orders as items on
each company's procurement board, two orders marked received in monday, two purchase
receipts in Visma) and the BILL part (`mlc.demo_bill`: a Danish client's vendors and bills
from BILL to Visma, some webhooks dropped and caught by the poll, one vendor held until its
supplier is created in Visma) and the Airbase part (`mlc.demo_airbase`: the Swedish company's
invoices as Airbase bills, three approved and paid there and booked back as Visma supplier
payments) run beside it, started with the other services. It ends with one OK or FAILED line.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from chassis.jsonlog import configure_logging
from chassis.settings import KafkaSettings
from mlc import demo_airbase, demo_bill
from mlc.demo_approvals import APPROVAL_TENANT, approvals_file, check_approvals
from mlc.demo_documents import check_documents
from mlc.demo_monday import (
    add_boards,
    add_monday_rules,
    check_monday,
    receipts_file,
    register_webhooks,
    write_mappings,
)
from mlc.demo_outage import Outage, OwnBroker
from mlc.demo_twilio import DIGEST_AFTER, SCHEDULE_CHECK_SECONDS, check_twilio, rules_with_twilio
from mlc.demo_twilio import prepare as prepare_twilio
from mlc.processes import ProcessError
from mlc.stack import DEFAULT_RULES, DEMO_TENANTS, Expected, FlowStack, command_ids, state_root
from processor.rules import RulesFileError, load_rules


def add_demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--invoices", type=int, default=25, help="invoices per company (25)")
    p.add_argument("--seed", type=int, default=42, help="dataset seed (42)")
    p.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="rules file")
    p.add_argument("--port", type=int, default=0, help="sandbox port (default 0: a free port)")
    p.add_argument("--poll-interval", type=float, default=10.0, help="seconds between polls (10)")
    p.add_argument("--timeout", type=float, default=600.0, help="give up after (600 s)")
    p.add_argument(
        "--broker-outage",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="run on a broker of the demo's own and SIGKILL it for SECONDS once a third of the "
        "messages are posted; the run then also checks that every service recovered without a "
        "restart and wrote fewer than 100 log lines, all JSON, meanwhile (0: no outage)",
    )
    p.add_argument(
        "--keep-running",
        action="store_true",
        help="leave everything running at the end and print how to stop it",
    )


def run_demo(args: argparse.Namespace) -> int:
    if args.invoices < 0 or args.poll_interval <= 0:
        print("mlc demo: --invoices must be >= 0 and --poll-interval > 0")
        return 2
    stack = demo_stack(args)
    demo_bill.prepare(stack)
    demo_airbase.prepare(stack)
    try:
        load_rules(args.rules)  # its own mistakes are named against its own path
        rules_path = rules_with_twilio(
            args.rules, stack.state_dir / "rules.yaml", digest_at=datetime.now(UTC) + DIGEST_AFTER
        )
        rules = load_rules(rules_path)
    except RulesFileError as exc:
        print(f"mlc demo: {exc}")
        return 2
    stack.rules = rules_path
    # The demo's own lines (its Kafka clients' too) go to its run folder, not the terminal.
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    configure_logging("mlc-demo", stream=(stack.state_dir / "demo.log").open("a"))
    try:
        outage = _own_broker(stack, args.broker_outage) if args.broker_outage > 0 else None
    except ProcessError as exc:
        print(f"mlc demo: {exc}")
        return 1
    settings = KafkaSettings()
    if not _kafka_reachable(settings):
        print(
            f"mlc demo: no Kafka broker at {settings.bootstrap_servers}. Start one with "
            "`deploy/kafka/kafka.sh start` (`make demo` does it for you)."
        )
        return 1
    run_id = stack.run_id
    started = time.monotonic()
    print(f"demo run {run_id}: logs in {stack.state_dir}")
    ok = False
    try:
        stack.start_sandbox()
        boards = add_boards(stack)  # the rules name their ids: before the processor starts
        add_monday_rules(rules_path, boards)
        demo_airbase.add_rules(rules_path)
        rules = load_rules(rules_path)
        stack.monday_mappings = tuple(write_mappings(stack.state_dir, boards))
        stack.receipts = receipts_file(boards)
        expected = stack.expected(rules)
        print(
            f"sandbox at {stack.base_url}: {expected.invoices} supplier invoices in "
            f"{len(DEMO_TENANTS)} companies; the rules call for {len(expected.commands)} "
            "Slack messages"
        )
        people = stack.employees(APPROVAL_TENANT)
        prepare_twilio(stack)
        stack.start_with_approvals(approvals_file(people))
        stack.start("twilio-sink")  # after the ingress: its callbacks go there
        stack.start("monday-sink")
        stack.start("monday-receipts")
        register_webhooks(stack, boards, ingress_url=stack.monday_webhook_url)
        demo_bill.start(stack)
        demo_airbase.start(stack)
        bill = demo_bill.enter(stack, seed=args.seed, deadline=started + args.timeout)
        posted = _watch(stack, expected, started, args.timeout, outage=outage)
        flow_ok = _summary(stack, expected, posted)
        approvals_ok = check_approvals(stack, expected, posted, people)
        approvals_ok = check_documents(stack, expected) and approvals_ok
        twilio_ok = check_twilio(stack, rules, deadline=started + args.timeout)
        monday_ok = check_monday(stack, rules, boards, deadline=started + args.timeout)
        bill_ok = demo_bill.check(stack, bill, deadline=started + args.timeout)
        # Last: its payments change Swedish invoices the other parts have counted by then.
        airbase_ok = demo_airbase.check(stack, deadline=started + args.timeout)
        ok = flow_ok and approvals_ok and twilio_ok and monday_ok and bill_ok and airbase_ok
        if outage is not None:
            outage_ok, verdict = outage.verdict()
            print(f"broker outage              : {verdict}")
            ok = ok and outage_ok
        print(f"time taken                 : {time.monotonic() - started:.1f} s")
        print(
            "result                     : "
            + ("OK" if ok else "FAILED")
            + f" (invoices to Slack: {'OK' if flow_ok else 'FAILED'}, "
            f"approvals from Slack: {'OK' if approvals_ok else 'FAILED'}, "
            f"alerts by Twilio: {'OK' if twilio_ok else 'FAILED'}, "
            f"items on Monday and receipts back: {'OK' if monday_ok else 'FAILED'}, "
            f"BILL to Visma: {'OK' if bill_ok else 'FAILED'}, "
            f"Visma and Airbase: {'OK' if airbase_ok else 'FAILED'})"
        )
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
            if outage is not None:
                outage.broker.stop()
    return 0 if ok else 1


def demo_stack(args: argparse.Namespace) -> FlowStack:
    """A fresh run id, its folder under `MLC_STATE_DIR`, and the services the demo starts."""
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
    return FlowStack(
        run_id=run_id,
        state_dir=state_root() / "demo" / run_id,
        rules=args.rules,
        invoices=args.invoices,
        seed=args.seed,
        port=args.port,
        poll_interval=args.poll_interval,
        entities=("supplierInvoice", "supplier", "employee", "supplierPayment", "purchaseOrder"),
        processor_env={"MLC_PROCESSOR_SCHEDULE_CHECK_SECONDS": SCHEDULE_CHECK_SECONDS},
    )  # employees: who may approve; payments: the day's payments email; orders: Monday


def _own_broker(stack: FlowStack, seconds: float) -> Outage:
    """Starts the demo's own broker (the only one it may kill) and points everything at it."""
    outage = Outage(OwnBroker(stack.state_dir / "broker"), seconds)
    print(f"starting the demo's own broker on {outage.broker.bootstrap}", flush=True)
    outage.broker.start()
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = outage.broker.bootstrap  # for every child too
    return outage


def _kafka_reachable(settings: KafkaSettings) -> bool:
    try:
        AdminClient(settings.client_config("mlc-demo")).list_topics(timeout=5)
    except Exception:  # noqa: BLE001 - any failure means "not reachable", said to the user
        return False
    return True


def _watch(
    stack: FlowStack,
    expected: Expected,
    started: float,
    timeout: float,
    *,
    outage: Outage | None = None,
) -> list[dict[str, Any]]:
    want = len(expected.commands)
    last = ""
    while True:
        stack.check_alive()
        posted = stack.posted()
        if outage is not None and not outage.counts and 3 * len(posted) >= want:
            outage.run(stack.children, stack.check_alive)
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


def _summary(stack: FlowStack, expected: Expected, posted: list[dict[str, Any]]) -> bool:
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
    ok = not missing and not unexpected and not duplicates
    verdict = (
        "OK: every expected message posted exactly once, none below the thresholds"
        if ok
        else f"FAILED: {len(missing)} missing, {len(unexpected)} unexpected, "
        f"{duplicates} duplicates"
    )
    print(f"check                      : {verdict}")
    return ok
