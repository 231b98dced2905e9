"""`mlc run airbase-poller`: each configured tenant's Airbase payments ready to sync, published
once per version as `AirbasePaymentReady`, until stopped."""

from __future__ import annotations

import argparse
import logging
import textwrap
from pathlib import Path

import httpx
from pydantic import SecretStr

from airbase_client import AirbaseClient, AirbaseProfile, load_profile
from airbase_poller.allowance import CountingTransport
from airbase_poller.config import (
    AirbasePollerConfigError,
    AirbasePollerFile,
    AirbasePollerSettings,
    AirbaseTenant,
    load_config,
)
from airbase_poller.inject import (
    SERVICE,
    AirbasePollerApp,
    AirbasePollerOptions,
    OpenedSource,
    build,
)
from airbase_poller.source import ClientSource
from chassis.http import CONNECTION_LIMITS
from chassis.jsonlog import REDACTOR, configure_logging
from chassis.service import run_service
from chassis.settings import KafkaSettings, ServiceSettings
from chassis.vault import CredentialNotFound, vault_from_environment
from chassis.yaml_source import YamlSourceError

log = logging.getLogger(__name__)

EXAMPLE = """\
example file (--config):
  tenants:
    - tenant_id: tenant-se-1
      company_id: "1234567"            # the Visma company payments post to
      api_base: https://api.airbase.io
      credential: airbase/tenant-se-1/token   # the API token's name in the vault
      auth_scheme: Token               # or Bearer (default: the profile's, Token)
      profile: airbase-profile.yaml    # paths and field names (optional; next to this file)
  every_seconds: 300       # between pulls of a tenant (a webhook pulls at once)
  payment_types: [bill_payment]
  hourly_calls: 200        # the pulls of a tenant make at most this many calls an hour
  reserve_calls: 100       # of the token's hourly allowance, left to the airbase-sink
  forget_after_days: 30    # an entry unlisted this long (synced) leaves the poller's memory

example:
  mlc run airbase-poller --config /etc/mlc/airbase-poller.yaml
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run airbase-poller",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "Pull each configured Airbase tenant's ledger entries ready to sync "
            "(status=sync_ready, every page before publishing), keep the payments "
            "(type bill_payment), read each one's bill for our Visma invoice key and publish "
            "AirbasePaymentReady (airbase.payment.v1) once per version: an entry listed again "
            "unchanged publishes nothing, a changed one publishes its new version. Facts and "
            "the poller's memory (state.airbase-poller.v1) are one Kafka transaction: a "
            "restart repeats and loses nothing. A webhook the ingress stored "
            "(airbase.webhook.v1) pulls its tenant at once. The pulls stay within the token's "
            "hourly allowance: at most hourly_calls an hour per tenant (scheduled pulls spaced to "
            "fit), and none below reserve_calls of X-Ratelimit-Remaining (left to the sink). "
            "Tokens come from the vault by the names in the file. Settings: "
            "MLC_AIRBASE_POLLER_* (TOPIC_PREFIX, TRANSACTIONAL_ID).",
            width=88,
        ),
        epilog=EXAMPLE,
    )
    p.add_argument("--config", type=Path, required=True, help="the tenants YAML")
    p.add_argument("--topic-prefix", help="prefix of every topic (test stacks)")
    p.add_argument("--every", type=float, help="seconds between pulls (overrides the file)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = ServiceSettings()
    configure_logging(SERVICE, service.log_level)
    try:
        config = load_config(args.config)
        profiles = {t.tenant_id: profile_of(t) for t in config.tenants}
    except (AirbasePollerConfigError, YamlSourceError) as exc:
        log.error("bad configuration", extra={"error": str(exc)})
        return 2
    if args.every:
        config = config.model_copy(update={"every_seconds": args.every})
    settings = AirbasePollerSettings()
    if args.topic_prefix:
        settings = settings.model_copy(update={"topic_prefix": args.topic_prefix})
    kafka = KafkaSettings()
    try:
        tokens = tokens_of(config, kafka=kafka)
    except CredentialNotFound as exc:
        log.error("an Airbase token is not in the vault", extra={"error": str(exc)})
        return 2

    def open_source(tenant: AirbaseTenant) -> OpenedSource:
        counter = CountingTransport(httpx.AsyncHTTPTransport(limits=CONNECTION_LIMITS))
        token = tokens[tenant.tenant_id]
        client = AirbaseClient(tenant.api_base, token, profiles[tenant.tenant_id],
                               transport=counter)  # fmt: skip
        source = ClientSource(client, counter, token=token,
                              read_token=lambda: read_token(tenant, kafka=kafka))  # fmt: skip
        return source, client.aclose

    def build_service() -> AirbasePollerApp:
        return build(kafka, settings, config, AirbasePollerOptions(open_source=open_source))

    run_service(build_service, health_port=service.health_port, tenants=len(tokens))
    return 0


def profile_of(tenant: AirbaseTenant) -> AirbaseProfile:
    """The tenant's profile (its file, or the defaults), with its auth scheme if it names one."""
    profile = load_profile(tenant.profile) if tenant.profile else AirbaseProfile()
    if tenant.auth_scheme:
        profile = AirbaseProfile.model_validate(
            {**profile.model_dump(), "auth_scheme": tenant.auth_scheme}
        )
    return profile


def read_token(tenant: AirbaseTenant, *, kafka: KafkaSettings) -> SecretStr:
    """The tenant's token as the vault holds it now (registered for redaction)."""
    vault = vault_from_environment(kafka=kafka)
    vault.load()
    token = vault.get(tenant.credential)
    REDACTOR.register(token)
    return token


def tokens_of(config: AirbasePollerFile, *, kafka: KafkaSettings) -> dict[str, SecretStr]:
    """Each tenant's API token from the vault (registered for redaction)."""
    vault = vault_from_environment(kafka=kafka)
    vault.load()
    tokens = {t.tenant_id: vault.get(t.credential) for t in config.tenants}
    for token in tokens.values():
        REDACTOR.register(token)
    return tokens
