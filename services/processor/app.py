"""The composition root: builds the faust app that feeds Kafka records to the InvoiceHandler.

Nothing here runs at import time. `build_app` wires one agent over the input topic, a
changelog-backed table that remembers each entity's last processed version (so the poller's
overlap window does not re-post an invoice), and the three output topics. The agent only
translates faust events into `Record`s; every decision lives in `processor.handler`.

Guarantee: at-least-once. faust's exactly_once has known duplicate issues (faust-streaming
#517, #602) and the Slack sink dedupes by command id anyway.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import faust
from confluent_kafka.admin import AdminClient
from faust.streams import _current_event  # the context faust's table writes depend on
from prometheus_client import Counter

from chassis.audit import AuditTrail
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.topics import ensure_topics
from processor.config import ProcessorSettings
from processor.handler import Headers, InvoiceHandler, Record, Send
from processor.rules import RuleSet, load_rules

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
) -> faust.App:
    """The faust app of the processor; give either a rules file or an already loaded RuleSet."""
    if rules is None:
        if rules_path is None:
            raise ValueError("build_app needs rules_path or rules")
        rules = load_rules(rules_path)
    serde = serde or AvroSerde(SchemaCatalog.load())
    app = faust.App(
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
    source = _raw_topic(app, settings.input_topic)
    seen = app.Table(
        TABLE_NAME,
        partitions=settings.input_partitions,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
        help="entity key -> last processed last_modified (epoch millis)",
    )
    commands = _raw_topic(app, settings.output_topic)
    dead_letters = _raw_topic(app, settings.dlq_spec().name)
    audit_topic = _raw_topic(app, settings.audit_topic)

    send_audit = _sender(audit_topic)

    async def publish_audit(key: str, value: bytes) -> object:
        return await (await send_audit(key.encode(), value, []))

    def remember(record: Record, key: str, version: int) -> None:
        # faust places a table write on the changelog partition of the *current* event, which
        # a batch loop no longer has: set it to the event the key came from.
        token = _current_event.set(weakref.ref(record.origin))
        try:
            seen[key] = version
        finally:
            _current_event.reset(token)

    handler = InvoiceHandler(
        remember=remember,
        rules=rules,
        serde=serde,
        seen=seen,
        send_command=_sender(commands),
        send_dead_letter=_sender(dead_letters),
        audit=AuditTrail(service=SERVICE, serde=serde, publish=publish_audit),
    )

    async def route_invoices(stream: faust.StreamT[Any]) -> None:
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

    app.agent(source, name="route-invoices")(route_invoices)
    return app


def _raw_topic(app: faust.App, name: str) -> Any:
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


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
