"""Entry point of `mlc`; each sub-command lives in its own module and is imported on use.

Only the chosen sub-command's module is imported, for its arguments as for its work: `mlc
--help` and `mlc audit ID` do not load faust, the processor or the sandbox.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

SERVICES: dict[str, str] = {
    "visma-poller": "visma_poller.main",
    "processor": "processor.main",
    "slack-sink": "slack_sink.main",
    "twilio-sink": "twilio_sink.main",
    "monday-sink": "monday_sink.main",
    "ingress": "ingress.main",
    "approvals": "approvals.main",
    "visma-writer": "visma_writer.main",
    "monday-receipts": "monday_receipts.main",
    "bill-poller": "bill_poller.main",
    "bill-mapping": "bill_mapping.main",
    "airbase-payments": "airbase_payments.main",
    "airbase-sink": "airbase_sink.main",
    "airbase-poller": "airbase_poller.main",
    "audit-index": "audit_index.main",
    "credential-check": "credential_check.main",
}


def _run_service(args: argparse.Namespace) -> int:
    import importlib

    module = importlib.import_module(SERVICES[args.service])
    main: Callable[[list[str]], int] = module.main
    return main(args.service_args)


def _sandbox(args: argparse.Namespace) -> int:
    from sandbox.__main__ import main

    main(args.sandbox_args)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from mlc.demo import run_demo

    return run_demo(args)


def _audit(args: argparse.Namespace) -> int:
    from mlc.audit import print_audit

    return print_audit(args)


def _audit_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.audit import add_arguments

    add_arguments(p)


def _backfill(args: argparse.Namespace) -> int:
    from visma_poller.backfill import run_backfill

    return run_backfill(args)


def _plan(args: argparse.Namespace) -> int:
    from visma_poller.plan_cli import run_plan

    return run_plan(args)


def _topics(args: argparse.Namespace) -> int:
    from mlc.topics import create_topics

    return create_topics()


def _secrets(args: argparse.Namespace) -> int:
    from mlc.secrets import run_secrets

    return run_secrets(args)


def _rules_test(args: argparse.Namespace) -> int:
    from mlc.rules_cli import run

    return run(args)


def _rules_preview(args: argparse.Namespace) -> int:
    from mlc.rules_preview import run

    return run(args)


def _twilio_resend(args: argparse.Namespace) -> int:
    from mlc.twilio_resend import run

    return run(args)


def _monday_map(args: argparse.Namespace) -> int:
    from mlc.monday_map import run

    return run(args)


def _status_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.status import add_status_arguments

    add_status_arguments(p)


def _check(args: argparse.Namespace) -> int:
    from mlc.check import run

    return run(args)


def _check_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.check import add_arguments

    add_arguments(p)
    p.set_defaults(func=_check)


def _replay_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.replay import add_arguments

    add_arguments(p)


def _demo_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.demo import add_demo_arguments

    add_demo_arguments(p)


def _visma_arguments(p: argparse.ArgumentParser) -> None:
    from visma_poller.backfill import add_arguments
    from visma_poller.plan_cli import add_arguments as add_plan_arguments

    visma = p.add_subparsers(dest="visma_command", required=True, metavar="COMMAND")
    backfill = visma.add_parser(
        "backfill", help="replay one entity's history since a date into the live topics"
    )
    add_arguments(backfill)
    backfill.set_defaults(func=_backfill)
    plan = visma.add_parser(
        "plan", help="show what polling cadence each company's hourly budget allows"
    )
    add_plan_arguments(plan)
    plan.set_defaults(func=_plan)


def _rules_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.rules_cli import add_arguments

    rules = p.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    rules_test = rules.add_parser(
        "test", help="show which rules match a sample event and the messages they would send"
    )
    add_arguments(rules_test)
    rules_test.set_defaults(func=_rules_test)
    from mlc.rules_preview import add_arguments as add_preview_arguments

    rules_preview = rules.add_parser(
        "preview",
        help="what a rules file would have sent for past Visma events, next to what was sent",
    )
    add_preview_arguments(rules_preview)
    rules_preview.set_defaults(func=_rules_preview)


def _twilio_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.twilio_resend import add_arguments

    twilio = p.add_subparsers(dest="twilio_command", required=True, metavar="COMMAND")
    resend = twilio.add_parser(
        "resend",
        help="send a failed SMS or email alert again, as a new command linked to the original",
        description="Send a failed SMS or email alert again (to a corrected recipient with "
        "--to), as a new command linked to the original; both show in `mlc audit`.",
    )
    add_arguments(resend)
    resend.set_defaults(func=_twilio_resend)


def _monday_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.monday_map import add_arguments

    monday = p.add_subparsers(dest="monday_command", required=True, metavar="COMMAND")
    mapping = monday.add_parser(
        "map",
        help="the setup wizard: map a board's columns to Visma fields and write the file",
        description="Read a monday board's columns, propose which Visma field each shows "
        "(title match first, then type), let you accept or change each pair, preview a real "
        "Visma record in the columns and write the mapping file the monday-sink reads.",
    )
    add_arguments(mapping)
    mapping.set_defaults(func=_monday_map)


def _bill_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.bill_holds import add_link_arguments, add_unmatched_arguments
    from mlc.bill_subscriptions import add_rotate_key_arguments, add_subscribe_arguments

    bill = p.add_subparsers(dest="bill_command", required=True, metavar="COMMAND")
    add_subscribe_arguments(bill)
    add_rotate_key_arguments(bill)
    add_unmatched_arguments(bill)
    add_link_arguments(bill)


def _airbase_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.airbase_holds import add_held_arguments

    airbase = p.add_subparsers(dest="airbase_command", required=True, metavar="COMMAND")
    add_held_arguments(airbase)


def _dlq_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.dlq import add_arguments

    add_arguments(p)


def _secrets_arguments(p: argparse.ArgumentParser) -> None:
    from mlc.secrets import add_secrets_arguments

    add_secrets_arguments(p)


LAZY_ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "demo": _demo_arguments,
    "visma": _visma_arguments,
    "rules": _rules_arguments,
    "secrets": _secrets_arguments,
    "twilio": _twilio_arguments,
    "monday": _monday_arguments,
    "bill": _bill_arguments,
    "airbase": _airbase_arguments,
    "status": _status_arguments,
    "check": _check_arguments,
    "audit": _audit_arguments,
    "dlq": _dlq_arguments,
    "replay": _replay_arguments,
}
"""Sub-commands whose arguments live in their own module: added only when chosen."""


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse's own errors (a missing argument, an unknown choice) in one line, as every
    `mlc` command's own errors are: what is wrong and where the example is. Sub-commands'
    parsers are of the same class (argparse's subparsers take their parent's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every sub-command with its help line; `command`'s own arguments too (its module is
    imported for them), the others' only when they are chosen."""
    p = OneLineErrorParser(
        prog="mlc",
        description="ml-connector: keeps Visma.net ERP in step with Slack and the tools around it.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one service (one container image runs them all)")
    run.add_argument("service", choices=sorted(SERVICES), help="which service")
    run.add_argument("service_args", nargs=argparse.REMAINDER, help="its own options (--help)")
    run.set_defaults(func=_run_service)

    sandbox = sub.add_parser("sandbox", help="serve the Visma and Slack simulators")
    sandbox.add_argument("sandbox_args", nargs=argparse.REMAINDER, help="options (--help)")
    sandbox.set_defaults(func=_sandbox)

    sub.add_parser(
        "demo",
        help="every flow built so far end to end (Visma <-> Slack, -> Twilio, <-> Monday)",
    ).set_defaults(func=_demo)

    sub.add_parser(
        "audit", help="print the audit chain of any id (from the audit index when configured)"
    ).set_defaults(func=_audit)

    sub.add_parser("visma", help="Visma operations: backfill, plan")
    sub.add_parser("rules", help="work on routing rules files: test, preview")
    sub.add_parser("twilio", help="Twilio alerts: resend a failed one")
    sub.add_parser("monday", help="monday.com boards: map a board's columns (setup wizard)")
    sub.add_parser(
        "bill", help="BILL: webhook subscriptions and their keys; unmatched vendors, link one"
    )

    sub.add_parser("airbase", help="Airbase: payments held by the payments mapping")

    sub.add_parser(
        "status", help="per consumer group: lag, rate, dead letters and held keys at a glance"
    )
    sub.add_parser(
        "check", help="ping your real systems: each configured credential, no side effects"
    ).set_defaults(func=_check)

    sub.add_parser(
        "dlq", help="dead letters: list, show one, redrive into exactly the group that failed"
    )
    sub.add_parser(
        "replay", help="reset a sink to a time or offset without repeating what it did (ledger)"
    )

    topics = sub.add_parser("topics", help="create every declared topic (idempotent)")
    topics.set_defaults(func=_topics)

    secrets = sub.add_parser("secrets", help="manage the encrypted credentials (never in argv)")
    secrets.set_defaults(func=_secrets)
    if command in LAZY_ARGUMENTS:
        LAZY_ARGUMENTS[command](sub.choices[command])
    return p


def _chosen(argv: Sequence[str]) -> str | None:
    """The sub-command named in argv (the first word that is not an option), if any."""
    return next((word for word in argv if not word.startswith("-")), None)


PASSES_ON = frozenset({"replay"})
"""Sub-commands that hand the words after `--` to another parser (`mlc replay SINK ... --
SINK_OPTIONS`: the sink's own options); argparse would take them for its own positionals."""


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    command = _chosen(words)
    passed: list[str] = []
    if command in PASSES_ON and "--" in words:
        cut = words.index("--")
        words, passed = words[:cut], words[cut + 1 :]
    args = parser(command).parse_args(words)
    if command in PASSES_ON:
        args.passed_on = passed
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
