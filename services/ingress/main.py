"""`mlc run ingress`: serve the webhook endpoints until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import replace

import uvicorn
from confluent_kafka.admin import AdminClient

from chassis.jsonlog import REDACTOR, configure_logging
from chassis.kafka.async_producer import AsyncProducer
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings, ServiceSettings
from chassis.topics import ensure_topics
from events.notifications import VISMA_NOTIFICATIONS
from ingress.app import create_app
from ingress.config import IngressSettings

SERVICE = "ingress"
log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run ingress",
        description="Receive webhooks (Visma: POST /webhooks/visma), verify their signatures and "
        "store them in Kafka before acknowledging. Settings: MLC_INGRESS_* variables "
        "(VISMA_WEBHOOK_SECRET, VISMA_SIGNATURE_HEADER, PORT).",
    )
    p.add_argument("--port", type=int, help="listen port (default MLC_INGRESS_PORT or 8080)")
    p.add_argument("--host", help="listen address (default 0.0.0.0)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging(SERVICE, ServiceSettings().log_level)
    settings = IngressSettings()
    if args.port is not None:
        settings = settings.model_copy(update={"port": args.port})
    if args.host is not None:
        settings = settings.model_copy(update={"host": args.host})
    REDACTOR.register(settings.visma_webhook_secret)
    kafka = KafkaSettings()
    ensure_topics(
        AdminClient(kafka.client_config(SERVICE)),
        [replace(VISMA_NOTIFICATIONS, name=settings.visma_topic)],
        replication_factor=kafka.replication_factor,
    )
    producer = AsyncProducer(kafka, SERVICE)
    app = create_app(settings=settings, send=producer.send, serde=AvroSerde(SchemaCatalog.load()))
    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning")
    )
    try:
        asyncio.run(_serve(server))
    finally:
        producer.close()
    return 0


async def _serve(server: uvicorn.Server) -> None:
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has only a flag
        await asyncio.sleep(0.05)
    if server.started:
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        log.info("listening", extra={"url": f"http://{host}:{port}"})
    await task
