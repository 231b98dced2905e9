"""The processor's command line: validate the rules, create topics, run the faust worker.

Rules are validated before anything touches Kafka, so a typo in the rules file fails fast
with its file, line and field instead of a half-started worker. faust's `Worker` installs
the SIGTERM/SIGINT handlers and stops the app cleanly (offsets committed, producer flushed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import faust
from pydantic import ValidationError

from chassis.health import HealthServer
from chassis.jsonlog import configure_logging
from chassis.kafka.outputs import serde_for
from chassis.kafka.view import CompactedView
from chassis.serde import AvroSerde
from chassis.service import VIEW_CHECK_SECONDS
from chassis.settings import RegistrySettings, ServiceSettings
from events.command_topics import COMMAND_TOPICS
from events.visma_entities import REFERENCE_ENTITIES, VISMA_EVENTS
from processor.app import SERVICE, build_app, declare_topics
from processor.config import ProcessorSettings
from processor.deployed_sinks import SHIPPED_SINKS, DeployedSinks
from processor.enrichment import ReferenceData
from processor.rules import RulesFileError, load_rules
from processor.stop_watchdog import StopWatchdog

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlc run processor", description=_description())
    parser.add_argument(
        "--rules",
        type=Path,
        required=True,
        metavar="FILE",
        help="routing rules YAML (see services/processor/rules.example.yaml)",
    )
    parser.add_argument("--app-id", help="faust app id / consumer group (default mlc-processor)")
    parser.add_argument(
        "--loglevel",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default: MLC_LOG_LEVEL, else INFO",
    )
    parser.add_argument(
        "--check", action="store_true", help="only validate the rules file and exit (0 if valid)"
    )
    return parser.parse_args(argv)


def _description() -> str:
    """What the processor does, from the registries it runs on, so it stays true."""
    entities = sorted(VISMA_EVENTS)
    targets = sorted({spec.name for spec in COMMAND_TOPICS.values()})
    return (
        f"Apply the routing rules to changes of every Visma entity ({', '.join(entities)}), "
        f"enriched with reference data ({', '.join(sorted(REFERENCE_ENTITIES))}), and send "
        f"each matching rule's commands to its sink's topic ({', '.join(targets)}); "
        "reminders and digests by schedule. The rules file is reloaded when it changes. "
        "Rules that target a sink not in MLC_DEPLOYED_SINKS (default "
        f"{SHIPPED_SINKS}) are reported at start. "
        "Reads KAFKA_BOOTSTRAP_SERVERS, MLC_LOG_LEVEL and MLC_PROCESSOR_* (APP_ID, "
        "TOPIC_PREFIX, INPUT_TOPIC, OUTPUT_TOPIC, AUDIT_TOPIC, DLQ_TOPIC, TRANSACTIONAL_ID, "
        "DATA_DIR, WEB_ENABLED, WEB_PORT) from the environment."
    )


def _record_decoder(serde: AvroSerde) -> Callable[[bytes], dict[str, Any]]:
    def decode(value: bytes) -> dict[str, Any]:
        return serde.decode(value)[1]

    return decode


def _ready(app: faust.App, view: CompactedView[Any]) -> bool:
    """Ready while the worker owns partitions of its input and its reference view follows
    its topics."""
    return view.failure is None and _assigned(app)


def crash_on_view_failure(
    app: faust.App, view: CompactedView[Any]
) -> Callable[[], Awaitable[None]]:
    """A timer that crashes the worker once the reference view has died (the view logged
    why): the process ends and is restarted, rather than routing without reference data."""

    async def check() -> None:
        if view.failure is not None:
            await app.crash(view.failure)

    return check


def _assigned(app: faust.App) -> bool:
    """Ready once the worker owns partitions of its input."""
    try:
        return bool(app.consumer.assignment())
    except (AttributeError, RuntimeError):  # not started yet
        return False


def json_logging_worker(app: faust.App, level: str) -> faust.Worker:
    """A faust worker that leaves logging as `configure_logging` set it: JSON lines on stdout.

    By default the worker replaces the root handlers with its coloured text format, prints a
    banner and redirects stdout into the log; all three are turned off here.
    """
    worker = faust.Worker(
        app, loglevel=level, override_logging=False, redirect_stdouts=False, quiet=True
    )
    # faust's start-up spinner sets the root logger to DEBUG for good, so every debug call of
    # aiokafka (several per record sent) builds a LogRecord that no handler wants.
    worker.spinner = None
    return worker


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        rules = load_rules(args.rules)
    except RulesFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        undeployed = DeployedSinks().notes(rules)
    except ValidationError as exc:
        print(f"error: MLC_DEPLOYED_SINKS: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    if args.check:
        for note in undeployed:
            print(f"warning: {note}")
        print(f"{args.rules}: {len(rules.rules)} rules OK")
        return 0
    service = ServiceSettings()
    level = args.loglevel or service.log_level.upper()
    configure_logging(SERVICE, level)
    for note in undeployed:
        log.warning(note)
    settings = ProcessorSettings()
    if args.app_id:
        settings = settings.model_copy(update={"app_id": args.app_id})
    declare_topics(settings)
    # With SCHEMA_REGISTRY_URL, writer schemas a newer producer registered are read by id.
    serde = serde_for(RegistrySettings())
    view: CompactedView[dict[str, Any]] = CompactedView(
        settings.kafka,
        settings.reference_topics(),
        decode=_record_decoder(serde),
        client=f"{settings.app_id}-reference",
    ).start()
    reference = ReferenceData(view, wait_seconds=settings.enrichment_wait_seconds)
    # Giving up a held record crashes the agent on purpose; the watchdog makes sure the
    # process then leaves even when faust's stop does not finish.
    watchdog = StopWatchdog()
    app = build_app(settings, args.rules, serde=serde, reference=reference, giving_up=watchdog.arm)
    app.timer(interval=VIEW_CHECK_SECONDS)(crash_on_view_failure(app, view))
    HealthServer(port=service.health_port, ready=lambda: _ready(app, view)).start()
    worker = json_logging_worker(app, level)
    worker.execute_from_commandline()  # returns only by SystemExit, after a clean stop
    return 0  # pragma: no cover
