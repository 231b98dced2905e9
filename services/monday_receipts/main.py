"""`mlc run monday-receipts`: monday "Received" changes to Visma purchase receipts until stopped."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pydantic import SecretStr

from chassis.entrypoint import (
    EXIT_BAD_CONFIGURATION,
    read_configuration,
    service_logging,
    with_options,
)
from chassis.jsonlog import REDACTOR
from chassis.service import run_service
from chassis.settings import KafkaSettings
from chassis.vault import CredentialNotFound, vault_from_environment
from monday_client import MondayClient
from monday_receipts.config import ReceiptsConfigError, ReceiptsSettings, load_config
from monday_receipts.inject import SERVICE, ReceiptsApp, ReceiptsOptions, build

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run monday-receipts",
        description="Turn a warehouse's 'Received' on a monday purchase-order item into one "
        "Visma purchase receipt: read monday column changes (monday.column-change.v1, stored "
        "by the ingress from monday's webhooks), find the item's Visma order (the Monday "
        "sink's links on monday.item.v1, or the item's Visma ID column) and send "
        "RecordPurchaseReceipt to the Visma writer (sink.visma-writer.v1), whose ledger "
        "applies it once. Because monday retries a webhook for 30 minutes only, the same "
        "process reads each configured board's recently updated items every "
        "MLC_MONDAY_RECEIPTS_RECONCILE_EVERY_SECONDS (300) and publishes what the webhooks "
        "missed. Settings: MLC_MONDAY_RECEIPTS_* (API_BASE, TOKEN or TOKEN_CREDENTIAL, "
        "GROUP_ID, TOPIC_PREFIX, RECONCILE_OVERLAP_SECONDS, LINK_WAIT_SECONDS).",
    )
    p.add_argument(
        "--config", type=Path, required=True,
        help="the receipts YAML: tenants.<tenant>.boards[] with board, company, "
        "receipt_column (title, default Receipt), received_label (default Received), "
        "visma_id_column (default Visma ID)",
    )  # fmt: skip
    p.add_argument("--api-base", help="monday's API base (default https://api.monday.com)")
    p.add_argument("--group-id", help="consumer group (default mlc-monday-receipts)")
    p.add_argument("--topic-prefix", help="prefix of every topic (test stacks)")
    p.add_argument(
        "--reconcile-every", type=float, help="seconds between reconciliations (default 300)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = service_logging(SERVICE)
    config = read_configuration(lambda: load_config(args.config), invalid=ReceiptsConfigError)
    if config is None:
        return EXIT_BAD_CONFIGURATION
    settings = with_options(
        ReceiptsSettings(), api_base=args.api_base, group_id=args.group_id,
        topic_prefix=args.topic_prefix, reconcile_every_seconds=args.reconcile_every,
    )  # fmt: skip
    kafka = KafkaSettings()
    try:
        token = monday_token(settings, kafka)
    except (ReceiptsConfigError, CredentialNotFound) as exc:
        log.error("no monday token", extra={"error": str(exc)})
        return 2
    REDACTOR.register(token)

    def build_service() -> ReceiptsApp:
        client = MondayClient(token, base_url=settings.api_base, api_version=settings.api_version)
        options = ReceiptsOptions(
            reader=client,
            close_reader=client.aclose,
            instance_id=service.group_instance_id,
        )
        return build(kafka, settings, config, options)

    run_service(build_service, health_port=service.health_port)
    return 0


def monday_token(settings: ReceiptsSettings, kafka: KafkaSettings) -> SecretStr:
    """The API token: from the vault when a credential is named, else from the environment."""
    if settings.token_credential:
        vault = vault_from_environment(kafka=kafka)
        vault.load()
        return vault.get(settings.token_credential)
    if settings.token is None:
        raise ReceiptsConfigError(
            "set MLC_MONDAY_RECEIPTS_TOKEN_CREDENTIAL (a vault name) or MLC_MONDAY_RECEIPTS_TOKEN"
        )
    return settings.token
