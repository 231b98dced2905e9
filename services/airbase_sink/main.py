"""`mlc run airbase-sink`: write Visma records from Kafka to each tenant's Airbase account."""

from __future__ import annotations

import argparse
import logging
import textwrap
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from airbase_sink.inject import SERVICE, SinkOptions, build, check_options
from chassis.errors import ConnectorError
from chassis.jsonlog import configure_logging
from chassis.service import run_service
from chassis.settings import KafkaSettings, ServiceSettings

log = logging.getLogger(__name__)

EXAMPLE = """example:
  mlc secrets set airbase/tenant-se-1        # the tenant's Airbase API token, once
  mlc run airbase-sink --tenants airbase-tenants.yaml

airbase-tenants.yaml:
  tenants:
    - tenant_id: tenant-se-1
      company_id: "1234567"
      api_base: https://api.airbase.io
      credential: airbase/tenant-se-1
      subsidiary: SE01
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run airbase-sink",
        description=textwrap.fill(
            "Write SyncToAirbase commands to Airbase: Visma suppliers as vendors, "
            "supplier invoices as bills (their vendor first), purchase orders and their "
            "receipts, GL accounts and cost centers as reference data, each upserted by its ERP "
            "reference (created once, updated after, a replay changes nothing); and mark Airbase "
            "payments synced once Visma has booked them (MarkAirbaseEntrySynced). One tenant's "
            "writes in order, tenants in parallel; a refused token holds the tenant's commands "
            "until the vault has a new one.",
            width=88,
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--tenants", type=Path, required=True, metavar="PATH",
        help="the tenants file: per tenant its Visma company, Airbase API base, the vault "
        "name of its token, and optionally auth scheme, profile, subsidiary and cost-center "
        "dimensions",
    )  # fmt: skip
    p.add_argument(
        "--request-timeout", type=float, default=30.0, help="seconds per call (default 30)"
    )
    p.add_argument("--group-id", default="mlc-airbase-sink", help="consumer group")
    p.add_argument("--commands-topic", help="override the commands topic (tests)")
    p.add_argument("--ledger-topic", help="override the ledger topic (tests)")
    p.add_argument(
        "--ledger-horizon-days", type=float,
        help="forget written commands after this many days (default 40; must exceed the "
        "commands topic's retention); an object is then found by its ERP reference",
    )  # fmt: skip
    return p


def options_from(args: argparse.Namespace, service: ServiceSettings) -> SinkOptions:
    options = SinkOptions(
        tenants_file=args.tenants,
        group_id=args.group_id,
        request_timeout=args.request_timeout,
        instance_id=service.group_instance_id,
        retry_budget=service.retry_budget_seconds,
    )
    if args.commands_topic:
        options.commands_topic = replace(options.commands_topic, name=args.commands_topic)
    if args.ledger_topic:
        options.ledger_topic = replace(options.ledger_topic, name=args.ledger_topic)
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
