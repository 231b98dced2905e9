"""The composition root: builds the faust app that feeds Kafka records to the InvoiceHandler.

Nothing here runs at import time. `build_app` wires one agent over every Visma entity topic,
the processed markers that remember each entity's last processed version (so the poller's
overlap window does not re-post anything), reference data for enrichment, a timer that
reloads the rules file when it changes, and the command topics of every sink. The agent only
translates faust events into `Record`s and commits each batch; every decision lives in
`processor.handler`.

Guarantee: each command id once on the command topics, for read_committed readers (every
sink), across crashes. A batch's commands, audit records and processed markers go out in
one Kafka transaction (librdkafka), committed before faust may commit the batch's offsets:
- killed before the commit: nothing of the batch is visible; the worker that restarts with
  the same transactional.id aborts the open transaction, re-reads the events and routes
  them again;
- killed after the commit, before the offsets: the events are read again, their markers are
  committed, so they are skipped (tests/integration/test_processor_sigkill.py).
faust still consumes and commits offsets; its own exactly_once is not used: it picks a
send's transaction by the partition of the record *sent*, not of the record read, and it
repeated more command ids than at_least_once (faust-streaming #517, #602).

Not covered: a rebalance that moves a partition to *another* worker while its previous
owner is still committing a batch of it (the new owner reads the markers up to the last
stable offset, then the old one commits): that batch's commands can be sent twice, and the
sink's ledger drops the repeat by command id. The dead-letter topic and the reminder and
digest tables stay at-least-once, through faust's producer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
from confluent_kafka.admin import AdminClient
from faust.types import TP
from prometheus_client import Counter

from chassis.audit import AuditTrail
from chassis.kafka.outputs import serde_for
from chassis.kafka.producer import TransactionalProducer
from chassis.serde import AvroSerde
from chassis.settings import RegistrySettings
from chassis.topics import ensure_topics
from events.command_topics import COMMAND_TOPICS
from events.commands import Command
from events.visma import VismaEntityChanged
from processor.broker_auth import broker_credentials, broker_urls
from processor.config import ProcessorSettings
from processor.delivery import BatchTransaction
from processor.enrichment import ReferenceData
from processor.handler import Headers, InvoiceHandler, Observe, Record, Send
from processor.processed import ProcessedMarkers
from processor.rules import RuleSet, RulesWatcher
from processor.schedule_app import install_schedule, raw_topic
from processor.schedule_state import Clock, system_clock

SERVICE = "processor"
EVENTS = Counter("mlc_processor_events_total", "Input events handled, by outcome", ["outcome"])
# One broker round trip per batch instead of per event; `within` bounds the added latency.
BATCH_SIZE = 500
BATCH_WITHIN_SECONDS = 0.05


def declare_topics(settings: ProcessorSettings, *, admin: AdminClient | None = None) -> None:
    """Creates the processor's topics if missing, before faust starts consuming."""
    kafka = settings.kafka
    admin = admin or AdminClient(kafka.client_config(f"{settings.app_id}-admin"))
    ensure_topics(admin, settings.topic_specs(), replication_factor=kafka.replication_factor)


def build_app(
    settings: ProcessorSettings,
    rules_path: Path | str | None = None,
    *,
    rules: RuleSet | None = None,
    serde: AvroSerde | None = None,
    reference: ReferenceData | None = None,
    clock: Clock = system_clock,
    giving_up: Callable[[], None] = lambda: None,
) -> faust.App:
    """The faust app of the processor; give either a rules file (watched and reloaded when it
    changes) or an already loaded RuleSet. `clock` times reminders and digests. `giving_up` is
    called when a held record is given up and the worker will stop (the process's watchdog)."""
    watcher = None
    if rules is None:
        if rules_path is None:
            raise ValueError("build_app needs rules_path or rules")
        watcher = RulesWatcher(rules_path)
        rules = watcher.current
    app = _faust_app(settings)
    serde = serde or serde_for(RegistrySettings())
    observe = install_schedule(app, settings, serde=serde, rules=lambda: handler.rules, clock=clock)
    handler, batches = _handler(
        app, settings, rules, serde, reference, observe=observe, giving_up=giving_up
    )
    source = raw_topic(app, *settings.input_topics())
    app.agent(source, name="route-events")(_agent(app, handler, batches))
    if watcher is not None:
        app.timer(interval=settings.rules_check_seconds)(_reloader(watcher, handler))
    return app


def _faust_app(settings: ProcessorSettings) -> faust.App:
    # faust writes its data directory even with in-memory tables; None keeps faust's default.
    where: dict[str, Any] = {"datadir": settings.data_dir} if settings.data_dir is not None else {}
    kafka = settings.kafka
    return faust.App(
        settings.app_id,
        broker=broker_urls(kafka),
        broker_credentials=broker_credentials(kafka),
        store="memory://",
        processing_guarantee="at_least_once",
        key_serializer="raw",
        value_serializer="raw",
        # Changelogs and faust's own topics too: one replication factor for every topic.
        topic_replication_factor=kafka.replication_factor,
        topic_partitions=settings.input_partitions,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.session_timeout_s / 5,
        web_enabled=settings.web_enabled,
        web_port=settings.web_port,
        autodiscover=False,
        **where,
    )


def _handler(
    app: faust.App,
    settings: ProcessorSettings,
    rules: RuleSet,
    serde: AvroSerde,
    reference: ReferenceData | None,
    observe: Observe | None = None,
    giving_up: Callable[[], None] = lambda: None,
) -> tuple[InvoiceHandler, Batches]:
    batches = _batches(app, settings)
    transaction, markers = batches.transaction, batches.markers
    command_topics = {kind: settings.command_topic(kind) for kind in COMMAND_TOPICS}

    async def send_command(command: Command, value: bytes, headers: Headers) -> Awaitable[object]:
        topic = command_topics[type(command)]
        return transaction.send(topic, key=command.key, value=value, headers=headers)

    def publish_audit(key: str, value: bytes) -> Awaitable[None]:
        return transaction.send(settings.audit_topic, key=key, value=value)

    handler = InvoiceHandler(
        remember=markers.remember,
        rules=rules,
        serde=serde,
        seen=markers.versions,
        beyond_horizon=markers.beyond_horizon,
        outlive=markers.outlive,
        send_command=send_command,
        send_dead_letter=_sender(raw_topic(app, settings.dlq_spec().name)),
        audit=AuditTrail(service=SERVICE, serde=serde, publish=publish_audit),
        enrich=reference.enrich if reference is not None else _nothing_known,
        observe=observe,
        owned=lambda record: _owns(app, TP(record.topic, record.partition)),
        giving_up=giving_up,
        group=settings.app_id,
    )
    return handler, batches


def _owns(app: faust.App, partition: TP) -> bool:
    """Whether the worker still owns `partition` and keeps it: not while stopping or while a
    rebalance (which waits for every record in hand) is under way."""
    if app.should_stop or app.rebalancing:
        return False
    try:
        return partition in app.consumer.assignment()
    except (AttributeError, RuntimeError):  # not started yet
        return False


@dataclass(frozen=True)
class Batches:
    """The transaction every batch writes into, and the processed markers it writes."""

    transaction: BatchTransaction
    markers: ProcessedMarkers


def _batches(app: faust.App, settings: ProcessorSettings) -> Batches:
    """Commands, audit records and markers go out through librdkafka, not faust's aiokafka
    producer, in one transaction per batch.

    aiokafka builds, partitions and frames every record in Python; at several commands and
    audit records per event that was most of the worker's time (`make bench --profile`).
    Offsets, the dead-letter topic and the reminder and digest tables stay with faust.
    """
    kafka = settings.kafka
    transaction = BatchTransaction(
        TransactionalProducer(
            kafka,
            client=f"{settings.app_id}-commands",
            transactional_id=settings.worker_transactional_id(),
        )
    )
    markers = ProcessedMarkers(
        kafka, settings.processed_topic(), transaction, client=f"{settings.app_id}-processed",
        expiry=settings.marker_expiry(),
    )  # fmt: skip
    inputs = set(settings.input_topics())

    async def forget_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked: set[TP] = args[0]
        markers.forget(tp.partition for tp in revoked if tp.topic in inputs)

    app.on_partitions_revoked.connect(forget_revoked)
    return Batches(transaction, markers)


def _agent(
    app: faust.App, handler: InvoiceHandler, batches: Batches
) -> Callable[[Any], Awaitable[None]]:
    transaction, markers = batches.transaction, batches.markers

    async def route_events(stream: faust.StreamT[Any]) -> None:
        batched = stream.take_events(  # type: ignore[attr-defined]  # missing from faust's stubs
            BATCH_SIZE, within=BATCH_WITHIN_SECONDS
        )
        async for events in batched:
            records = [
                Record(
                    key=event.key,
                    value=event.value,
                    headers=event.headers,
                    topic=event.message.topic,
                    partition=event.message.partition,
                    offset=event.message.offset,
                    timestamp_ms=_millis(event.message.timestamp),
                )
                for event in events
            ]
            try:
                await markers.load(record.partition for record in records)
                markers.sweep()
                outcomes = await handler.handle_batch(records)
                # Before faust may acknowledge the batch: its commands and markers, or nothing.
                await transaction.commit()
                markers.committed()
            except Exception as exc:
                # Poison is handled inside; anything else (broker unreachable, a bug) must
                # not be skipped past: crash the worker so the record is read again on restart.
                markers.discard()
                await app.crash(exc)
                raise
            for outcome in outcomes:
                EVENTS.labels(outcome.value).inc()

    return route_events


def _reloader(watcher: RulesWatcher, handler: InvoiceHandler) -> Callable[[], Awaitable[None]]:
    async def reload_rules() -> None:
        # An invalid file is logged by the watcher, and the running rules stay in force.
        if watcher.check():
            handler.rules = watcher.current

    return reload_rules


def _millis(seconds: float | None) -> int | None:
    """faust gives a consumed record's Kafka timestamp in seconds (None if it had none)."""
    return None if seconds is None else round(seconds * 1000)


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
