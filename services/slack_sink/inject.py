"""Composition root of the Slack sink; tests and the demo pass overrides, never patches."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from chassis.audit import AUDIT_TOPIC, AuditTrail
from chassis.jsonlog import REDACTOR
from chassis.kafka.dlq import DeadLetters
from chassis.kafka.producer import EventProducer
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, dead_letter_topic, ensure_topics
from events import topics
from slack_client.client import SlackClient
from slack_sink.delivery import SlackDelivery
from slack_sink.ledger import Ledger

SERVICE = "slack-sink"
SLACK_API = "https://slack.com/api"


@dataclass
class SinkOptions:
    group_id: str = "mlc-slack-sink"
    commands_topic: TopicSpec = topics.SINK_SLACK
    ledger_topic: TopicSpec = topics.STATE_SLACK_LEDGER
    api_base: str = SLACK_API
    seconds_per_message: float = 1.02
    tokens: dict[str, SecretStr] = field(default_factory=dict)
    transport: httpx.AsyncBaseTransport | None = None
    instance_id: str | None = None


@dataclass
class SinkApp:
    runner: ConsumerRunner
    http: httpx.AsyncClient
    producer: EventProducer

    async def run(self) -> None:
        try:
            await self.runner.run()
        finally:
            await self.http.aclose()
            self.producer.close()


def build(settings: KafkaSettings, options: SinkOptions) -> SinkApp:
    serde = AvroSerde(SchemaCatalog.load())
    dlq_topic = dead_letter_topic(options.group_id)
    ensure_topics(
        AdminClient(settings.client_config(SERVICE)),
        [options.commands_topic, options.ledger_topic, AUDIT_TOPIC, dlq_topic],
        replication_factor=settings.replication_factor,
    )
    producer = EventProducer(settings, SERVICE)
    audit = AuditTrail(
        service=SERVICE,
        serde=serde,
        publish=lambda key, value: producer.send(AUDIT_TOPIC.name, key=key, value=value),
    )
    ledger = Ledger(sink=SERVICE, topic=options.ledger_topic.name, producer=producer, serde=serde)
    # Slack's 429 comes back to the runner, which slows that one channel: no HTTP retry here.
    http = httpx.AsyncClient(base_url=options.api_base, transport=options.transport, timeout=30.0)
    clients = {}
    for workspace, token in options.tokens.items():
        REDACTOR.register(token)
        clients[workspace] = SlackClient(http, token=token)
    delivery = SlackDelivery(clients=clients, ledger=ledger, audit=audit)
    runner = ConsumerRunner(
        settings=settings,
        config=RunnerConfig(
            group_id=options.group_id,
            topics=(options.commands_topic.name,),
            rate_per_key=1.0 / options.seconds_per_message,
            instance_id=options.instance_id,
        ),
        handler=delivery,
        serde=serde,
        dead_letters=DeadLetters(producer, options.group_id),
        audit=audit,
        entity_of=lambda r: str(r.value.get("entity_id") or r.key),
        on_assigned=lambda: ledger.load(settings),
    )
    return SinkApp(runner, http, producer)
