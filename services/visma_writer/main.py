"""`mlc run visma-writer`: apply the writer's commands to Visma until stopped."""

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
from visma_writer.config import ConfigError, load_config
from visma_writer.inject import SERVICE, WriterOptions, build

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run visma-writer",
        description="Apply the writer's commands to Visma.net ERP, each once, in order per "
        "entity: ApplyVismaAction (supplier-invoice actions such as release, or a note) with "
        "If-Match on the invoice's ETag, re-reading and retrying when someone else saved it "
        "(412); RecordPurchaseReceipt (a purchase receipt for an order, looked up in Visma "
        "before any create, so a crash never makes two); RecordSupplierPayment (a supplier "
        "payment of an invoice, looked up by its payment reference before any create, then "
        "MarkAirbaseEntrySynced to the airbase-sink). A write that conflicts with the "
        "record in Visma is not forced: it goes to the review topic, field by field.",
    )
    p.add_argument("--config", type=Path, required=True, help="the companies YAML the poller reads")
    p.add_argument("--group-id", default="mlc-visma-writer", help="consumer group")
    p.add_argument("--commands-topic", help="override the commands topic (tests)")
    p.add_argument("--ledger-topic", help="override the ledger topic (tests)")
    p.add_argument(
        "--replies-topic", help="override the Slack sink's topic the outcome replies go to (tests)"
    )
    p.add_argument("--review-topic", help="override the review topic of conflicts (tests)")
    p.add_argument(
        "--airbase-topic",
        help="override the airbase-sink's topic a booked payment's MarkAirbaseEntrySynced "
        "goes to (tests)",
    )
    p.add_argument(
        "--hold-seconds",
        type=float,
        default=300.0,
        help="while Visma refuses a company's credentials, try its commands again this often "
        "(a new client secret stored with `mlc secrets set` releases them within seconds, "
        "no restart)",
    )
    p.add_argument(
        "--max-conflicts",
        type=int,
        default=3,
        help="412 answers (the invoice changed under us) to re-read and retry before backing off",
    )
    p.add_argument(
        "--ledger-horizon-days",
        type=float,
        help="forget applied commands after this many days (default 40; must exceed the "
        "commands topic's retention)",
    )
    return p


def options_from(args: argparse.Namespace, service: ServiceSettings) -> WriterOptions:
    """The writer's options from its command line (also how `mlc replay` sees the writer)."""
    options = WriterOptions(
        group_id=args.group_id,
        hold_seconds=args.hold_seconds,
        max_conflicts=args.max_conflicts,
        time_scale=service.time_scale,
        instance_id=service.group_instance_id,
        retry_budget=service.retry_budget_seconds,
    )
    if args.commands_topic:
        options.commands_topic = replace(options.commands_topic, name=args.commands_topic)
    if args.ledger_topic:
        options.ledger_topic = replace(options.ledger_topic, name=args.ledger_topic)
    if args.replies_topic:
        options.replies_topic = replace(options.replies_topic, name=args.replies_topic)
    if args.review_topic:
        options.review_topic = replace(options.review_topic, name=args.review_topic)
    if args.airbase_topic:
        options.airbase_topic = replace(options.airbase_topic, name=args.airbase_topic)
    if args.ledger_horizon_days:
        options.ledger_horizon = timedelta(days=args.ledger_horizon_days)
    return options


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = ServiceSettings()
    configure_logging(SERVICE, service.log_level)
    options = options_from(args, service)
    try:
        if args.hold_seconds <= 0 or args.max_conflicts < 0:
            raise ConfigError("--hold-seconds must be > 0 and --max-conflicts >= 0")
        app = build(KafkaSettings(), load_config(args.config), options)
    except (ConfigError, ConnectorError) as exc:
        log.error("cannot start", extra={"error": str(exc)})
        return 2
    run_service(lambda: app, health_port=service.health_port)
    return 0
