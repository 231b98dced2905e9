"""`mlc run airbase-payments --config airbase-payments.yaml`: thin entry point over
`inject.build`."""

from __future__ import annotations

import argparse
from pathlib import Path

from airbase_payments.config import PaymentsConfigError, load_config
from airbase_payments.inject import SERVICE, build
from airbase_payments.reload import RELOAD_SECONDS
from airbase_payments.settings import AirbasePaymentsSettings
from chassis.entrypoint import (
    EXIT_BAD_CONFIGURATION,
    read_configuration,
    service_logging,
    with_options,
)
from chassis.kafka.decisions import DecidingService
from chassis.service import run_service
from chassis.settings import KafkaSettings

EXAMPLE = """\
example file:
  tenants:
    tenant-se-1:                      # the Airbase tenant (our tenant id)
      company: "1234567"              # the Visma company its payments post to
      accounts: {"4010": "4010", "6110": "6110"}     # Airbase GL account -> Visma account
      cost_centers: {"CC-100": "100", "CC-200": "200"}  # Airbase department -> subaccount
      cost_center_required: false     # true: a line without a department is held too
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run airbase-payments",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Turns the payments Airbase made (airbase.payment.v1, from the "
        "airbase-poller) into the Visma writer's RecordSupplierPayment "
        "(sink.visma-writer.v1), by each tenant's mapping file. A payment whose GL account "
        "or cost center is not mapped, or that names no supplier or invoice, is held with "
        "its reason (state.airbase-payment.v1, listed by `mlc airbase held`) and released "
        "once when the file maps it: at the next start, or while running once the changed "
        "file is seen (--reload-every). Settings: "
        "MLC_AIRBASE_PAYMENTS_* (GROUP_ID, TOPIC_PREFIX, TRANSACTIONAL_ID).",
        epilog=EXAMPLE,
    )
    p.add_argument("--config", type=Path, required=True, help="the mapping YAML (see below)")
    p.add_argument("--group-id", help="consumer group (default mlc-airbase-payments)")
    p.add_argument("--topic-prefix", help="prefix of every topic (test stacks)")
    p.add_argument(
        "--reload-every",
        type=float,
        default=RELOAD_SECONDS,
        metavar="SECONDS",
        help=f"look at the mapping file this often and take up a fixed one (default "
        f"{RELOAD_SECONDS:g}; 0: only at start)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = service_logging(SERVICE)
    config = read_configuration(lambda: load_config(args.config), invalid=PaymentsConfigError)
    if config is None:
        return EXIT_BAD_CONFIGURATION
    settings = with_options(
        AirbasePaymentsSettings(), group_id=args.group_id, topic_prefix=args.topic_prefix
    )
    kafka = KafkaSettings()

    def build_service() -> DecidingService:
        return build(
            kafka, settings, config, instance_id=service.group_instance_id,
            watch=args.config, reload_seconds=args.reload_every,
        )  # fmt: skip

    run_service(build_service, health_port=service.health_port)
    return 0
