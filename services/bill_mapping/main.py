"""`mlc run bill-mapping --config bill-mapping.yaml`: thin entry point over `inject.build`."""

from __future__ import annotations

import argparse
from pathlib import Path

from bill_mapping.config import BillMappingConfigError, load_config
from bill_mapping.inject import SERVICE, build
from bill_mapping.settings import BillMappingSettings
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
    nordic-dk:
      organizations:
        - organization: "00801ABCDEF"   # the BILL organization
          company: "2000123"            # its Visma company
          vendor_policy: match          # or create
          currency: DKK                 # a bill without its own currency
          accounts: {"0ca01XYZ": "6100"}        # BILL GL account -> Visma account
          cost_centers: {"0de01ABC": "100-20"}  # BILL department -> Visma subaccount
          links: {"00901QRS": "70012"}          # BILL vendor -> Visma supplier (optional)
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run bill-mapping",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Maps BILL vendors and bills (bill.vendor.v1, bill.bill.v1) into the Visma "
        "writer's UpsertSupplier and UpsertSupplierInvoice (sink.visma-writer.v1), by each "
        "tenant's mapping file. Under vendor_policy match, a vendor with no Visma supplier "
        "(by link, organisation number or VAT number) is held with its bills until the Visma "
        "source shows a matching supplier or an operator runs `mlc bill link`. Settings: "
        "MLC_BILL_MAPPING_* (GROUP_ID, TOPIC_PREFIX, TRANSACTIONAL_ID).",
        epilog=EXAMPLE,
    )
    p.add_argument("--config", type=Path, required=True, help="the mapping YAML (see below)")
    p.add_argument("--group-id", help="consumer group (default mlc-bill-mapping)")
    p.add_argument("--topic-prefix", help="prefix of every topic (test stacks)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = service_logging(SERVICE)
    config = read_configuration(lambda: load_config(args.config), invalid=BillMappingConfigError)
    if config is None:
        return EXIT_BAD_CONFIGURATION
    settings = with_options(
        BillMappingSettings(), group_id=args.group_id, topic_prefix=args.topic_prefix
    )
    kafka = KafkaSettings()

    def build_service() -> DecidingService:
        return build(kafka, settings, config, instance_id=service.group_instance_id)

    run_service(build_service, health_port=service.health_port)
    return 0
