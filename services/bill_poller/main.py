"""`mlc run bill-poller`: every change of the configured BILL organizations' vendors and bills,
polled, as canonical events, until stopped."""

from __future__ import annotations

import argparse
import logging
import textwrap
from pathlib import Path

from bill_client import BillClient, BillCredentials
from bill_poller.config import (
    BillOrganization,
    BillPollerConfigError,
    BillPollerSettings,
    load_config,
)
from bill_poller.inject import SERVICE, BillPollerApp, BillPollerOptions, OpenedSource, build
from chassis.entrypoint import (
    EXIT_BAD_CONFIGURATION,
    read_configuration,
    service_logging,
    with_options,
)
from chassis.jsonlog import REDACTOR
from chassis.service import run_service
from chassis.settings import KafkaSettings
from chassis.vault import CredentialNotFound, CredentialVault, vault_from_environment

log = logging.getLogger(__name__)

EXAMPLE = """\
example file (--config):
  tenants:
    tenant-dk-1:
      organizations:
        - organization_id: "00801MLCDEMODK000001"
          username: ap@nordisk-demo.example
          password_credential: bill/00801MLCDEMODK000001/password
          dev_key_credential: bill/devkey
  every_seconds: 300        # between cycles
  overlap_seconds: 300      # each poll re-reads this far back (nothing is published twice)
  hourly_poll_budget: 2000  # list pages and subscription checks per devKey and hour
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run bill-poller",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "Poll each configured BILL organization for vendors and bills changed "
            "since the last poll (updatedTime, with an overlap) and publish them as "
            "BillVendorChanged (bill.vendor.v1) and BillBillChanged (bill.bill.v1) with source "
            "poll: the fallback for webhooks BILL delivers once and retries only a little. Each "
            "page of events and the poll's cursor (state.poll-cursor.v1) are one Kafka "
            "transaction: a restart repeats and loses nothing. Each cycle also re-enables a "
            "webhook subscription BILL disabled, and says so. Passwords and devKeys come from "
            "the vault by the names in the file. Settings: MLC_BILL_POLLER_* (API_BASE, "
            "EVENTS_BASE, TOPIC_PREFIX, TRANSACTIONAL_ID).",
            width=88,
        ),
        epilog=EXAMPLE,
    )
    p.add_argument("--config", type=Path, required=True, help="the organizations YAML")
    p.add_argument(
        "--api-base", help="BILL's v3 API (default https://gateway.stage.bill.com/connect/v3)"
    )
    p.add_argument("--events-base", help="BILL's v3 webhook API (default …/connect-events/v3)")
    p.add_argument("--topic-prefix", help="prefix of every topic (test stacks)")
    p.add_argument("--every", type=float, help="seconds between cycles (overrides the file)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = service_logging(SERVICE)
    loaded = read_configuration(lambda: load_config(args.config), invalid=BillPollerConfigError)
    if loaded is None:
        return EXIT_BAD_CONFIGURATION
    config = with_options(loaded, every_seconds=args.every)
    settings = with_options(
        BillPollerSettings(), api_base=args.api_base, events_base=args.events_base,
        topic_prefix=args.topic_prefix,
    )  # fmt: skip
    kafka = KafkaSettings()
    vault = vault_from_environment(kafka=kafka)
    vault.load()
    try:
        credentials = {o.organization_id: sign_in(vault, o) for _, o in config.organizations()}
    except CredentialNotFound as exc:
        log.error("a BILL credential is not in the vault", extra={"error": str(exc)})
        return 2

    def open_source(organization: BillOrganization) -> OpenedSource:
        client = BillClient(
            credentials[organization.organization_id],
            base_url=settings.api_base, events_base_url=settings.events_base,
        )  # fmt: skip
        return client, client.aclose

    def build_service() -> BillPollerApp:
        return build(kafka, settings, config, BillPollerOptions(open_source=open_source))

    run_service(build_service, health_port=service.health_port,
                organizations=len(credentials))  # fmt: skip
    return 0


def sign_in(vault: CredentialVault, organization: BillOrganization) -> BillCredentials:
    """The organization's sign-in, its secrets from the vault (registered for redaction)."""
    password = vault.get(organization.password_credential)
    dev_key = vault.get(organization.dev_key_credential)
    REDACTOR.register(password)
    REDACTOR.register(dev_key)
    return BillCredentials(
        username=organization.username, password=password, dev_key=dev_key,
        organization_id=organization.organization_id,
    )  # fmt: skip
