"""`mlc run visma-poller`: poll every configured Visma company until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from dataclasses import replace
from pathlib import Path

from chassis.health import HealthServer
from chassis.jsonlog import configure_logging
from chassis.settings import KafkaSettings, ServiceSettings
from visma_poller.config import ConfigError, PollerConfig, load_config
from visma_poller.inject import SERVICE, PollerOverrides, build

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run visma-poller",
        description="Poll Visma.net ERP companies for changed supplier invoices and publish "
        "them to Kafka, page by page in transactions with the poll cursor.",
    )
    p.add_argument("--config", type=Path, required=True, help="companies YAML (see README)")
    p.add_argument(
        "--transactional-id",
        default=SERVICE,
        help="stable per replica; a restarted replica with the same id fences the old one",
    )
    p.add_argument("--events-topic", help="override the events topic (tests)")
    p.add_argument("--cursor-topic", help="override the cursor topic (tests)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = ServiceSettings()
    configure_logging(SERVICE, service.log_level)
    try:
        config = load_config(args.config)
        for company in config.companies:
            company.client_secret()
    except ConfigError as exc:
        log.error("bad configuration", extra={"error": str(exc)})
        return 2
    overrides = PollerOverrides(transactional_id=args.transactional_id)
    if args.events_topic:
        overrides.events_topic = replace(overrides.events_topic, name=args.events_topic)
    if args.cursor_topic:
        overrides.cursor_topic = replace(overrides.cursor_topic, name=args.cursor_topic)
    asyncio.run(_run(config, overrides, service.health_port))
    return 0


async def _run(config: PollerConfig, overrides: PollerOverrides, health_port: int) -> None:
    app = build(config, KafkaSettings(), overrides)
    health = HealthServer(port=health_port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("started", extra={"companies": len(config.companies), "health_port": health.port})
    try:
        await app.run(stop)
    finally:
        health.stop()
        log.info("stopped")
