"""`mlc run slack-sink`: post Slack commands from Kafka until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from dataclasses import replace

from pydantic import SecretStr

from chassis.health import HealthServer
from chassis.jsonlog import configure_logging
from chassis.settings import KafkaSettings, ServiceSettings
from slack_sink.inject import SERVICE, SLACK_API, SinkOptions, build

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run slack-sink",
        description="Post PostSlackMessage commands to Slack: each once, in order per "
        "channel, at most one per channel per --seconds-per-message, channels in parallel.",
    )
    p.add_argument(
        "--workspace",
        action="append",
        default=[],
        metavar="NAME=ENV_VAR",
        help="a workspace and the environment variable holding its bot token "
        "(repeatable; default: default=SLACK_BOT_TOKEN)",
    )
    p.add_argument(
        "--api-base", default=SLACK_API, help=f"Slack Web API base (default {SLACK_API})"
    )
    p.add_argument(
        "--seconds-per-message",
        type=float,
        default=1.02,
        help="pause between posts to one channel; Slack allows about 1 per second (default 1.02)",
    )
    p.add_argument("--group-id", default="mlc-slack-sink", help="consumer group (one per sink)")
    p.add_argument("--commands-topic", help="override the commands topic (tests)")
    p.add_argument("--ledger-topic", help="override the ledger topic (tests)")
    return p


class UsageError(Exception):
    pass


def _tokens(specs: list[str]) -> dict[str, SecretStr]:
    tokens = {}
    for spec in specs or ["default=SLACK_BOT_TOKEN"]:
        name, sep, variable = spec.partition("=")
        if not sep or not name or not variable:
            raise UsageError(f"--workspace {spec!r}: expected NAME=ENV_VAR")
        value = os.environ.get(variable)
        if not value:
            raise UsageError(f"workspace {name}: environment variable {variable} is not set")
        tokens[name] = SecretStr(value)
    return tokens


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = ServiceSettings()
    configure_logging(SERVICE, service.log_level)
    try:
        tokens = _tokens(args.workspace)
    except UsageError as exc:
        log.error("bad configuration", extra={"error": str(exc)})
        return 2
    if args.seconds_per_message <= 0:
        log.error("bad configuration", extra={"error": "--seconds-per-message must be > 0"})
        return 2
    options = SinkOptions(
        group_id=args.group_id,
        api_base=args.api_base,
        seconds_per_message=args.seconds_per_message,
        tokens=tokens,
        instance_id=os.environ.get("POD_NAME"),
    )
    if args.commands_topic:
        options.commands_topic = replace(options.commands_topic, name=args.commands_topic)
    if args.ledger_topic:
        options.ledger_topic = replace(options.ledger_topic, name=args.ledger_topic)
    asyncio.run(_run(options, service.health_port))
    return 0


async def _run(options: SinkOptions, health_port: int) -> None:
    app = build(KafkaSettings(), options)
    health = HealthServer(port=health_port, ready=lambda: app.runner.assigned).start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, app.runner.stop)
    log.info("started", extra={"health_port": health.port})
    try:
        await app.run()
    finally:
        health.stop()
        log.info("stopped")
