"""Entry point of `mlc`; each sub-command lives in its own module and is imported on use."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

SERVICES: dict[str, str] = {
    "visma-poller": "visma_poller.main",
    "processor": "processor.main",
    "slack-sink": "slack_sink.main",
    "ingress": "ingress.main",
    "approvals": "approvals.main",
    "visma-writer": "visma_writer.main",
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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
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

    demo = sub.add_parser(
        "demo", help="run the first flow end to end: sandbox, Kafka, poller, processor, sink"
    )
    from mlc.demo import add_demo_arguments

    add_demo_arguments(demo)
    demo.set_defaults(func=_demo)

    audit = sub.add_parser("audit", help="print the audit chain of an entity or external id")
    audit.add_argument("id", help="entity key, entity id, event id, command id or external id")
    audit.set_defaults(func=_audit)

    visma = sub.add_parser("visma", help="Visma operations").add_subparsers(
        dest="visma_command", required=True, metavar="COMMAND"
    )
    backfill = visma.add_parser(
        "backfill", help="replay one entity's history since a date into the live topics"
    )
    from visma_poller.backfill import add_arguments

    add_arguments(backfill)
    backfill.set_defaults(func=_backfill)
    plan = visma.add_parser(
        "plan", help="show what polling cadence each company's hourly budget allows"
    )
    from visma_poller.plan_cli import add_arguments as add_plan_arguments

    add_plan_arguments(plan)
    plan.set_defaults(func=_plan)

    rules = sub.add_parser("rules", help="work on routing rules files").add_subparsers(
        dest="rules_command", required=True, metavar="COMMAND"
    )
    rules_test = rules.add_parser(
        "test", help="show which rules match a sample event and the messages they would send"
    )
    from mlc.rules_cli import add_arguments as add_rules_test_arguments

    add_rules_test_arguments(rules_test)
    rules_test.set_defaults(func=_rules_test)

    topics = sub.add_parser("topics", help="create every declared topic (idempotent)")
    topics.set_defaults(func=_topics)

    secrets = sub.add_parser("secrets", help="manage the encrypted credentials (never in argv)")
    from mlc.secrets import add_secrets_arguments

    add_secrets_arguments(secrets)
    secrets.set_defaults(func=_secrets)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
