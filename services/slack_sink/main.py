"""`mlc run slack-sink`: post Slack commands from Kafka until stopped."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from datetime import timedelta

from chassis.errors import ConnectorError, PermanentError
from chassis.jsonlog import configure_logging
from chassis.service import run_service
from chassis.settings import KafkaSettings, ServiceSettings
from slack_client.workspaces import WorkspaceSpecError, environment_tokens, workspace_pairs
from slack_sink.inject import SERVICE, SLACK_API, SinkOptions, build, check_ledger

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run slack-sink",
        description="Post PostSlackMessage commands to Slack: each once, in order per "
        "channel, at most one per channel per --seconds-per-message, channels in parallel.",
    )
    p.add_argument(
        "--workspace",
        action="append",
        default=[],
        metavar="NAME=ENV_VAR",
        help="a workspace and the environment variable holding its bot token "
        "(repeatable; default, when no --workspace-credential either: default=SLACK_BOT_TOKEN)",
    )
    p.add_argument(
        "--workspace-credential",
        action="append",
        default=[],
        metavar="NAME=CREDENTIAL",
        help="a workspace and the name of its bot token in the credential vault "
        "(`mlc secrets set CREDENTIAL`); a replaced token is picked up without a restart",
    )
    p.add_argument(
        "--api-base", default=SLACK_API, help=f"Slack Web API base (default {SLACK_API})"
    )
    p.add_argument(
        "--seconds-per-message",
        type=float,
        default=1.005,
        help=(
            "pause between posts to one channel, counted from the start of the previous post "
            "plus its latency's recent jitter (never more than counting from Slack's answer); "
            "Slack allows about 1 per second (default 1.005)"
        ),
    )
    p.add_argument(
        "--digest-backlog",
        type=int,
        default=0,
        help="a channel with more queued messages than this posts digests until it has "
        "caught up, e.g. 30 (half a minute behind); 0, the default: never",
    )
    p.add_argument(
        "--digest-max",
        type=int,
        default=50,
        help="at most this many messages in one digest (default 50)",
    )
    p.add_argument("--group-id", default="mlc-slack-sink", help="consumer group (one per sink)")
    p.add_argument("--commands-topic", help="override the commands topic (tests)")
    p.add_argument(
        "--commands-partitions", type=int, help="partitions of an overridden commands topic"
    )
    p.add_argument("--ledger-topic", help="override the ledger topic (tests)")
    p.add_argument(
        "--ledger-horizon-days",
        type=float,
        help="forget posted commands after this many days (default 40; must exceed the "
        "commands topic's retention)",
    )
    return p


class UsageError(PermanentError):
    """A command-line option the sink cannot run with."""


def options_from(args: argparse.Namespace, service: ServiceSettings) -> SinkOptions:
    """The sink's options from its command line (also how `mlc replay` sees the sink);
    raises `UsageError` or `WorkspaceSpecError` for a bad one."""
    stored = workspace_pairs(
        "--workspace-credential", args.workspace_credential, metavar="NAME=CREDENTIAL"
    )
    tokens = environment_tokens(args.workspace, default=not stored)
    _check_numbers(args)
    options = SinkOptions(
        group_id=args.group_id,
        api_base=args.api_base,
        seconds_per_message=args.seconds_per_message,
        tokens=tokens,
        vault_credentials=stored,
        digest_backlog=args.digest_backlog or None,
        digest_max=args.digest_max,
        instance_id=service.group_instance_id,
        retry_budget=service.retry_budget_seconds,
    )
    if args.commands_topic:
        options.commands_topic = replace(options.commands_topic, name=args.commands_topic)
    if args.commands_partitions:
        options.commands_topic = replace(
            options.commands_topic, partitions=args.commands_partitions
        )
    if args.ledger_topic:
        options.ledger_topic = replace(options.ledger_topic, name=args.ledger_topic)
    # Ledger partition p holds the entries of command partition p.
    options.ledger_topic = replace(
        options.ledger_topic, partitions=options.commands_topic.partitions
    )
    if args.ledger_horizon_days:
        options.ledger_horizon = timedelta(days=args.ledger_horizon_days)
    return options


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = ServiceSettings()
    configure_logging(SERVICE, service.log_level)
    try:
        options = options_from(args, service)
    except (UsageError, WorkspaceSpecError) as exc:
        log.error("bad configuration", extra={"error": str(exc)})
        return 2
    try:
        check_ledger(options)
    except ConnectorError as exc:
        log.error("bad configuration", extra={"error": str(exc)})
        return 2
    run_service(lambda: build(KafkaSettings(), options), health_port=service.health_port)
    return 0


def _check_numbers(args: argparse.Namespace) -> None:
    if args.seconds_per_message <= 0:
        raise UsageError("--seconds-per-message must be > 0")
    if args.digest_backlog < 0 or args.digest_max < 2:
        raise UsageError("--digest-backlog must be >= 0 and --digest-max >= 2")
