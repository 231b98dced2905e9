"""`mlc run ingress`: serve the webhook endpoints until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

import uvicorn
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from fastapi import FastAPI

from chassis.jsonlog import REDACTOR, configure_logging
from chassis.kafka.async_producer import AsyncProducer
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings, ServiceSettings
from chassis.topics import ensure_topics
from chassis.vault import CredentialVault, vault_from_environment
from events.airbase import AIRBASE_WEBHOOKS
from events.bill import BILL_BILLS, BILL_VENDORS
from events.monday import MONDAY_COLUMN_CHANGES
from events.notifications import VISMA_NOTIFICATIONS
from events.slack_events import SLACK_EVENTS
from events.twilio_status import TWILIO_MESSAGE_STATUSES
from ingress.airbase_route import AirbaseSigningSecrets
from ingress.app import create_app
from ingress.bill_route import BillKeys
from ingress.config import IngressConfigError, IngressSettings, load_settings
from ingress.topic_limits import check_body_limit
from ingress.twilio_tokens import TwilioAuthTokens

SERVICE = "ingress"
log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run ingress",
        description="Receive webhooks (Visma: POST /webhooks/visma; Slack Events API: POST "
        "/webhooks/slack; Twilio status callbacks: POST /webhooks/twilio/status), verify their "
        "signatures and store them in Kafka before acknowledging. "
        "Settings: MLC_INGRESS_* variables (VISMA_WEBHOOK_SECRET or "
        "VISMA_WEBHOOK_SECRET_CREDENTIAL, "
        "VISMA_SIGNATURE_HEADER, SLACK_SIGNING_SECRET or SLACK_SIGNING_SECRET_CREDENTIAL, "
        "TWILIO_STATUS_CALLBACK_URL (the public URL Twilio signs), TWILIO_AUTH_TOKEN_CREDENTIAL "
        "(vault name per account, default twilio/{account_sid}/auth-token); monday board "
        "webhooks: POST /webhooks/monday (challenge answered; JWT checked with "
        "MONDAY_SIGNING_SECRET or MONDAY_SIGNING_SECRET_CREDENTIAL against MONDAY_WEBHOOK_URL, "
        "the public URL; tenant from the URL's ?tenant= or MONDAY_DEFAULT_TENANT); BILL "
        "webhooks: POST /webhooks/bill (x-bill-sha-signature checked with the subscription's "
        "securityKeys from the vault, written by `mlc bill subscribe`); Airbase "
        "webhooks: POST /webhooks/airbase?tenant=T (X-Airbase-Signature checked when the "
        "tenant has a signing secret in the vault, AIRBASE_SECRET_CREDENTIAL, default "
        "airbase/{tenant}/webhook-secret; unsigned taken otherwise: it only nudges a pull; "
        "AIRBASE_TENANTS lists the tenants taken); "
        "ACK_TIMEOUT_SECONDS, PORT; limits on hostile input: MAX_BODY_BYTES (256 KiB, a "
        "413 beyond), MAX_INFLIGHT_BODY_BYTES (32 MiB across requests, a 503 beyond), "
        "BODY_READ_TIMEOUT_SECONDS (5, a 408 beyond), MAX_CONNECTIONS (1000), "
        "VISMA_REPLAY_WINDOW_SECONDS (3600: an exact repeat is acknowledged, not stored)).",
    )
    p.add_argument("--port", type=int, help="listen port (default MLC_INGRESS_PORT or 8080)")
    p.add_argument("--host", help="listen address (default 0.0.0.0)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging(SERVICE, ServiceSettings().log_level)
    try:
        settings = with_vault_secrets(load_settings())
    except IngressConfigError as exc:
        log.error("cannot start", extra={"error": str(exc)})
        return 2
    if args.port is not None:
        settings = settings.model_copy(update={"port": args.port})
    if args.host is not None:
        settings = settings.model_copy(update={"host": args.host})
    REDACTOR.register(settings.visma_webhook_secret)
    REDACTOR.register(settings.slack_signing_secret)
    REDACTOR.register(settings.monday_signing_secret)
    for token in settings.twilio_auth_tokens.values():
        REDACTOR.register(token)
    for secret in settings.airbase_webhook_secrets.values():
        REDACTOR.register(secret)
    kafka = KafkaSettings()
    admin = AdminClient(kafka.client_config(SERVICE))
    ensure_topics(
        admin,
        [
            replace(VISMA_NOTIFICATIONS, name=settings.visma_topic),
            replace(SLACK_EVENTS, name=settings.slack_topic),
            replace(TWILIO_MESSAGE_STATUSES, name=settings.twilio_topic),
            replace(MONDAY_COLUMN_CHANGES, name=settings.monday_topic),
            replace(BILL_VENDORS, name=settings.bill_vendor_topic),
            replace(BILL_BILLS, name=settings.bill_bill_topic),
            replace(AIRBASE_WEBHOOKS, name=settings.airbase_topic),
        ],
        replication_factor=kafka.replication_factor,
    )
    try:
        check_body_limit(admin, settings)
    except IngressConfigError as exc:
        log.error("cannot start", extra={"error": str(exc)})
        return 2
    except KafkaException as exc:
        # Reading topic configs needs DescribeConfigs, which a locked-down principal may lack;
        # the check only saves a round trip: the broker's own refusal is answered 413 too.
        log.warning("topic limits not readable", extra={"error": str(exc)})
    producer = AsyncProducer(kafka, SERVICE, delivery_timeout_ms=settings.kafka_delivery_timeout_ms)
    tokens = TwilioAuthTokens(
        tokens=settings.twilio_auth_tokens,
        vault=lambda: vault_from_environment(kafka=kafka),
        credential=settings.twilio_auth_token_credential,
    )
    app = create_app(
        settings=settings,
        send=producer.send,
        serde=AvroSerde(SchemaCatalog.load()),
        twilio_tokens=tokens,
        bill_keys=BillKeys(vault=lambda: vault_from_environment(kafka=kafka)),
        airbase_secrets=AirbaseSigningSecrets(
            secrets=settings.airbase_webhook_secrets,
            vault=lambda: vault_from_environment(kafka=kafka),
            credential=settings.airbase_secret_credential,
        ),
    )
    server = uvicorn.Server(server_config(app, settings))
    # The event loop uvicorn itself would pick (uvloop when installed), as uvicorn.Server.run.
    try:
        with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
            runner.run(_serve(server))
    finally:
        producer.close()
    return 0


def server_config(app: FastAPI, settings: IngressSettings) -> uvicorn.Config:
    """uvicorn as the ingress runs it: connections bounded, so is what they read ahead."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        limit_concurrency=settings.max_connections,
    )


VAULT_SECRETS = {
    "visma_webhook_secret": "visma_webhook_secret_credential",
    "slack_signing_secret": "slack_signing_secret_credential",
    "monday_signing_secret": "monday_signing_secret_credential",
}
"""Each signing secret the ingress may read from the vault, and the setting naming it there."""


def with_vault_secrets(
    settings: IngressSettings, *, open_vault: Callable[[], CredentialVault] = vault_from_environment
) -> IngressSettings:
    """The signing secrets named by vault credentials (Visma's webhook key, Slack's and
    monday's signing secrets), read once at start."""
    names = {
        secret: getattr(settings, credential)
        for secret, credential in VAULT_SECRETS.items()
        if getattr(settings, credential)
    }
    if not names:
        return settings
    vault = open_vault()
    vault.load()
    return settings.model_copy(update={secret: vault.get(name) for secret, name in names.items()})


async def _serve(server: uvicorn.Server) -> None:
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has only a flag
        await asyncio.sleep(0.05)
    if server.started:
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        log.info("listening", extra={"url": f"http://{host}:{port}"})
    await task
