"""`mlc run monday-sink`: write CreateMondayItem commands from Kafka to monday.com boards."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from chassis.errors import ConnectorError
from chassis.jsonlog import configure_logging
from chassis.service import run_service
from chassis.settings import KafkaSettings, ServiceSettings
from chassis.tokens import environment_tokens, named_pairs
from monday_client import DEFAULT_API_VERSION, DEFAULT_BASE_URL
from monday_sink.inject import SERVICE, SinkOptions, build, check_options

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run monday-sink",
        description="Write CreateMondayItem commands to monday.com boards: one item per Visma "
        "record and board (created once, updated after, found by its Visma ID column), one "
        "mutation in flight per board, boards in parallel. monday's daily call limit holds "
        "a tenant's commands until it resets.",
    )
    p.add_argument(
        "--mapping", action="append", default=[], type=Path, metavar="PATH", required=True,
        help="a mapping file (mlc monday map writes one; repeatable, one per tenant): every "
        "board in it is checked against monday at start",
    )  # fmt: skip
    p.add_argument("--tenant", help="the tenant of a mapping file that names none")
    p.add_argument(
        "--tenant-credential", action="append", default=[], metavar="TENANT=CREDENTIAL",
        help="a tenant and the name of its monday API token in the credential vault "
        "(mlc secrets set CREDENTIAL; repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--tenant-token", action="append", default=[], metavar="TENANT=ENV_VAR",
        help="a tenant and the environment variable holding its monday API token (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--api-base", default=DEFAULT_BASE_URL,
        help=f"monday API host; calls go to API_BASE/v2 (default {DEFAULT_BASE_URL})",
    )  # fmt: skip
    p.add_argument(
        "--api-version", default=DEFAULT_API_VERSION,
        help=f"the API-Version header, pinned (default {DEFAULT_API_VERSION})",
    )  # fmt: skip
    p.add_argument(
        "--batch-over", type=int, default=10,
        help="a board with more queued commands than this sends its updates several per "
        "request (aliases): fewer calls against the daily limit (default 10)",
    )  # fmt: skip
    p.add_argument(
        "--batch-max", type=int, default=25, help="at most this many updates per batch (25)"
    )
    p.add_argument(
        "--daily-limit-probe-seconds", type=float, default=60.0,
        help="while the daily limit holds a tenant, one cheap call this often looks whether "
        "it has reset before the time monday announced (default 60)",
    )  # fmt: skip
    p.add_argument(
        "--request-timeout", type=float, default=30.0, help="seconds per call (default 30)"
    )
    p.add_argument("--group-id", default="mlc-monday-sink", help="consumer group")
    p.add_argument("--commands-topic", help="override the commands topic (tests)")
    p.add_argument("--ledger-topic", help="override the ledger topic (tests)")
    p.add_argument("--links-topic", help="override the item links topic (tests)")
    p.add_argument(
        "--ledger-horizon-days", type=float,
        help="forget written commands after this many days (default 40; must exceed the "
        "commands topic's retention); a record's item is then found by its Visma ID column",
    )  # fmt: skip
    return p


def options_from(args: argparse.Namespace, service: ServiceSettings) -> SinkOptions:
    options = SinkOptions(
        mappings=list(args.mapping),
        tenant=args.tenant,
        tokens=environment_tokens("--tenant-token", args.tenant_token, kind="tenant"),
        vault_credentials=named_pairs(
            "--tenant-credential", args.tenant_credential, metavar="TENANT=CREDENTIAL"
        ),
        api_base=args.api_base,
        api_version=args.api_version,
        group_id=args.group_id,
        batch_over=args.batch_over,
        batch_max=args.batch_max,
        daily_limit_probe_seconds=args.daily_limit_probe_seconds,
        request_timeout=args.request_timeout,
        instance_id=service.group_instance_id,
        retry_budget=service.retry_budget_seconds,
    )
    for attr, name in (
        ("commands_topic", args.commands_topic),
        ("ledger_topic", args.ledger_topic),
        ("links_topic", args.links_topic),
    ):
        if name:
            setattr(options, attr, replace(getattr(options, attr), name=name))
    if args.ledger_horizon_days:
        options.ledger_horizon = timedelta(days=args.ledger_horizon_days)
    return options


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = ServiceSettings()
    configure_logging(SERVICE, service.log_level)
    try:
        options = options_from(args, service)
        check_options(options)
    except (ConnectorError, ValueError) as exc:
        log.error("bad configuration", extra={"error": str(exc)})
        return 2
    run_service(lambda: build(KafkaSettings(), options), health_port=service.health_port)
    return 0
