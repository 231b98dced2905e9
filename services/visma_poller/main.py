"""`mlc run visma-poller`: poll every configured Visma company until stopped."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from chassis.errors import ConnectorError
from chassis.jsonlog import configure_logging
from chassis.service import run_service
from chassis.settings import KafkaSettings, ServiceSettings
from visma_client.entities import VISMA_ENTITIES
from visma_poller.config import ConfigError, load_config
from visma_poller.inject import SERVICE, PollerOverrides, build

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run visma-poller",
        description="Poll Visma.net ERP companies for changed records of every entity and "
        "publish them to Kafka, page by page in transactions with the poll cursor. Each "
        "company's hourly call budget is shared between entities by priority; the plan is "
        "logged ('budget plan'). Visma webhook notifications (from the ingress) trigger an "
        "immediate pull.",
    )
    p.add_argument("--config", type=Path, required=True, help="companies YAML (see README)")
    p.add_argument(
        "--transactional-id",
        default=SERVICE,
        help="stable per replica; a restarted replica with the same id fences the old one",
    )
    p.add_argument("--topic-prefix", default="", help="prefix every topic name (isolated runs)")
    p.add_argument(
        "--entities", help=f"comma-separated subset of: {', '.join(sorted(VISMA_ENTITIES))}"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = ServiceSettings()
    configure_logging(SERVICE, service.log_level)
    entities = tuple(e.strip() for e in args.entities.split(",")) if args.entities else None
    unknown = set(entities or ()) - set(VISMA_ENTITIES)
    try:
        if unknown:
            raise ConfigError(f"--entities: unknown {sorted(unknown)}")
        config = load_config(args.config)
        overrides = PollerOverrides(
            topic_prefix=args.topic_prefix, transactional_id=args.transactional_id,
            time_scale=service.time_scale, entities=entities,
        )  # fmt: skip
        app = build(config, KafkaSettings(), overrides)
    except (ConfigError, ConnectorError) as exc:
        log.error("cannot start", extra={"error": str(exc)})
        return 2
    run_service(lambda: app, health_port=service.health_port, companies=len(config.companies))
    return 0
