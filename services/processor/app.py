"""The composition root: builds the faust app that feeds Kafka records to the InvoiceHandler.

Nothing here runs at import time. `build_app` wires one agent over every Visma entity topic,
a changelog-backed table that remembers each entity's last processed version (so the poller's
overlap window does not re-post anything), reference data for enrichment, a timer that
reloads the rules file when it changes, and the command topics of every sink. The agent only
translates faust events into `Record`s; every decision lives in `processor.handler`.

Guarantee: at-least-once. A worker killed mid-batch has its batch's commands on the broker
but not its offsets or table writes, so a restart sends them again with the same command
ids, and each sink's ledger drops the repeat (tests/integration/test_processor_sigkill.py
counts them). faust's exactly_once does not help: it picks a send's transaction by the
partition of the record *sent*, not of the record read, and on that test it repeated more
command ids than at_least_once (faust-streaming #517, #602).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import faust
from confluent_kafka.admin import AdminClient
from faust.streams import _current_event  # the context faust's table writes depend on
from prometheus_client import Counter

from chassis.audit import AuditTrail
from chassis.kafka.producer import EventProducer
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import ensure_topics
from events.command_topics import COMMAND_TOPICS
from events.commands import Command
from events.visma import VismaEntityChanged
from processor.config import ProcessorSettings
from processor.delivery import FlushedProducer
from processor.enrichment import ReferenceData
from processor.handler import Headers, InvoiceHandler, Observe, Record, Send
from processor.rules import RuleSet, RulesWatcher
from processor.schedule_app import install_schedule
from processor.schedule_state import Clock, system_clock

SERVICE = "processor"
EVENTS = Counter("mlc_processor_events_total", "Input events handled, by outcome", ["outcome"])
TABLE_NAME = "invoice-last-modified"
# One broker round trip per batch instead of per event; `within` bounds the added latency.
BATCH_SIZE = 500
BATCH_WITHIN_SECONDS = 0.05


def declare_topics(settings: ProcessorSettings, *, admin: AdminClient | None = None) -> None:
    """Creates the processor's topics if missing, before faust starts consuming."""
    admin = admin or AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    ensure_topics(admin, settings.topic_specs(), replication_factor=settings.replication_factor)


def build_app(
    settings: ProcessorSettings,
    rules_path: Path | str | None = None,
    *,
    rules: RuleSet | None = None,
    serde: AvroSerde | None = None,
    reference: ReferenceData | None = None,
    clock: Clock = system_clock,
) -> faust.App:
    """The faust app of the processor; give either a rules file (watched and reloaded when it
    changes) or an already loaded RuleSet. `clock` times reminders and digests."""
    watcher = None
    if rules is None:
        if rules_path is None:
            raise ValueError("build_app needs rules_path or rules")
        watcher = RulesWatcher(rules_path)
        rules = watcher.current
    app = _faust_app(settings)
    serde = serde or AvroSerde(SchemaCatalog.load())
    observe = install_schedule(app, settings, serde=serde, rules=lambda: handler.rules, clock=clock)
    handler = _handler(app, settings, rules, serde, reference, observe=observe)
    source = _raw_topic(app, *settings.input_topics())
    app.agent(source, name="route-events")(_agent(app, handler))
    if watcher is not None:
        app.timer(interval=settings.rules_check_seconds)(_reloader(watcher, handler))
    return app


def _faust_app(settings: ProcessorSettings) -> faust.App:
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        store="memory://",
        processing_guarantee="at_least_once",
        key_serializer="raw",
        value_serializer="raw",
        topic_replication_factor=settings.replication_factor,
        topic_partitions=settings.input_partitions,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.session_timeout_s / 5,
        web_enabled=settings.web_enabled,
        web_port=settings.web_port,
        autodiscover=False,
    )


def _handler(
    app: faust.App,
    settings: ProcessorSettings,
    rules: RuleSet,
    serde: AvroSerde,
    reference: ReferenceData | None,
    observe: Observe | None = None,
) -> InvoiceHandler:
    seen = app.Table(
        TABLE_NAME,
        partitions=settings.input_partitions,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
        help="entity key -> last processed last_modified (epoch millis)",
    )
    producer = _command_producer(app, settings)
    command_topics = {kind: settings.command_topic(kind) for kind in COMMAND_TOPICS}

    async def send_command(command: Command, value: bytes, headers: Headers) -> Awaitable[object]:
        topic = command_topics[type(command)]
        return producer.send(topic, key=command.key, value=value, headers=headers)

    def publish_audit(key: str, value: bytes) -> Awaitable[None]:
        # Not a coroutine: a batch's audit records then share one flush, like its commands.
        return producer.send(settings.audit_topic, key=key, value=value)

    def remember(record: Record, key: str, version: int) -> None:
        # faust places a table write on the changelog partition of the *current* event, which
        # a batch loop no longer has: set it to the event the key came from.
        token = _current_event.set(weakref.ref(record.origin))
        try:
            seen[key] = version
        finally:
            _current_event.reset(token)

    return InvoiceHandler(
        remember=remember,
        rules=rules,
        serde=serde,
        seen=seen,
        send_command=send_command,
        send_dead_letter=_sender(_raw_topic(app, settings.dlq_spec().name)),
        audit=AuditTrail(service=SERVICE, serde=serde, publish=publish_audit),
        enrich=reference.enrich if reference is not None else _nothing_known,
        observe=observe,
    )


def _command_producer(app: faust.App, settings: ProcessorSettings) -> FlushedProducer:
    """Commands and audit records go out through librdkafka, not faust's aiokafka producer.

    aiokafka builds, partitions and frames every record in Python; at several commands and
    audit records per event that was most of the worker's time (`make bench --profile`).
    The dedupe table's changelog and the offsets stay with faust. Flushed on shutdown.
    """
    producer = FlushedProducer(
        EventProducer(
            KafkaSettings(bootstrap_servers=settings.bootstrap_servers),
            f"{settings.app_id}-commands",
        )
    )

    async def flush(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await producer.flush()

    app.on_before_shutdown.connect(flush)
    return producer


def _agent(app: faust.App, handler: InvoiceHandler) -> Callable[[Any], Awaitable[None]]:
    async def route_events(stream: faust.StreamT[Any]) -> None:
        batches = stream.take_events(  # type: ignore[attr-defined]  # missing from faust's stubs
            BATCH_SIZE, within=BATCH_WITHIN_SECONDS
        )
        async for events in batches:
            records = [
                Record(
                    key=event.key,
                    value=event.value,
                    headers=event.headers,
                    topic=event.message.topic,
                    partition=event.message.partition,
                    offset=event.message.offset,
                    origin=event,
                )
                for event in events
            ]
            try:
                for outcome in await handler.handle_batch(records):
                    EVENTS.labels(outcome.value).inc()
            except Exception as exc:
                # Poison is handled inside; anything else (broker unreachable, a bug) must
                # not be skipped past: crash the worker so the record is read again on restart.
                await app.crash(exc)
                raise

    return route_events


def _reloader(watcher: RulesWatcher, handler: InvoiceHandler) -> Callable[[], Awaitable[None]]:
    async def reload_rules() -> None:
        # An invalid file is logged by the watcher, and the running rules stay in force.
        if watcher.check():
            handler.rules = watcher.current

    return reload_rules


def _raw_topic(app: faust.App, *names: str) -> Any:
    return app.topic(
        *names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


async def _nothing_known(event: VismaEntityChanged) -> Mapping[str, str]:
    return {}


def _sender(topic: Any) -> Send:
    """A send whose result is awaited for the broker's acknowledgement.

    `force=True` bypasses faust's attachments, which would otherwise hold the message until
    the input event is acked: the handler needs delivery *before* it updates the table.
    """

    async def send(key: bytes, value: bytes, headers: Headers) -> Awaitable[object]:
        pending: Awaitable[object] = await topic.send(
            key=key, value=value, headers=headers, force=True
        )
        return pending

    return send
