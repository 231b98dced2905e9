"""Composition root of the Slack sink; tests and the demo pass overrides, never patches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from pydantic import SecretStr

from chassis.kafka.expiry import DEFAULT_HORIZON, Expiry
from chassis.kafka.ledger import check_aligned
from chassis.kafka.outputs import service_outputs
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Batching, Record
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.service import ConsumerService
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec
from chassis.vault import CredentialVault, vault_from_environment
from events import topics
from slack_sink.credentials import WorkspaceCredentials
from slack_sink.delivery import SlackDelivery
from slack_sink.ledger import Ledger

SERVICE = "slack-sink"
SLACK_API = "https://slack.com/api"


@dataclass
class SinkOptions:
    group_id: str = "mlc-slack-sink"
    commands_topic: TopicSpec = topics.SINK_SLACK
    ledger_topic: TopicSpec = topics.STATE_SLACK_LEDGER
    ledger_horizon: timedelta = DEFAULT_HORIZON
    """How long a posted command is remembered; must exceed the command topic's retention."""
    api_base: str = SLACK_API
    seconds_per_message: float = 1.005
    tokens: dict[str, SecretStr] = field(default_factory=dict)
    """Workspace -> bot token given directly (from the environment)."""
    vault_credentials: dict[str, str] = field(default_factory=dict)
    """Workspace -> credential name in the vault; a replaced credential is picked up live."""
    vault: Callable[[], CredentialVault] | None = None
    """Opens the vault (default: from the environment, on the same Kafka)."""
    credential_refresh_seconds: float = 2.0
    digest_backlog: int | None = None
    """A channel with more queued commands than this posts digests until it catches up
    (None: never)."""
    digest_max: int = 50
    transport: httpx.AsyncBaseTransport | None = None
    instance_id: str | None = None
    retry_budget: float = RunnerConfig.retry_budget
    """Seconds a failing command is retried before the DLQ (Slack being down not counted)."""


@dataclass
class SinkApp(ConsumerService):
    runner: ConsumerRunner
    http: httpx.AsyncClient
    producer: EventProducer
    credentials: WorkspaceCredentials

    async def aclose(self) -> None:
        await self.credentials.aclose()
        await self.http.aclose()
        self.producer.close()


def check_ledger(options: SinkOptions) -> Expiry:
    """The ledger's horizon and partitions fit the command topic (or a config error says why)."""
    expiry = Expiry(options.ledger_horizon)
    expiry.check_covers(options.commands_topic)
    check_aligned(options.ledger_topic, options.commands_topic)
    return expiry


def build(settings: KafkaSettings, options: SinkOptions) -> SinkApp:
    expiry = check_ledger(options)
    outputs = service_outputs(
        settings, service=SERVICE, group_id=options.group_id,
        topics=[options.commands_topic, options.ledger_topic],
    )  # fmt: skip
    serde, producer, audit = outputs.serde, outputs.producer, outputs.audit
    ledger = Ledger(
        sink=SERVICE, topic=options.ledger_topic.name, producer=producer, serde=serde,
        expiry=expiry,
    )  # fmt: skip
    # Slack's 429 comes back to the runner, which slows that one channel: no HTTP retry here.
    http = httpx.AsyncClient(base_url=options.api_base, transport=options.transport, timeout=30.0)
    credentials = WorkspaceCredentials(
        http=http,
        tokens=options.tokens,
        vault_names=options.vault_credentials,
        vault=options.vault or (lambda: vault_from_environment(kafka=settings)),
        refresh_seconds=options.credential_refresh_seconds,
    )
    delivery = SlackDelivery(credentials=credentials, ledger=ledger, audit=audit)
    runner = ConsumerRunner(
        settings=settings,
        config=RunnerConfig(
            group_id=options.group_id,
            topics=(options.commands_topic.name,),
            rate_per_key=1.0 / options.seconds_per_message,
            instance_id=options.instance_id,
            retry_budget=options.retry_budget,
        ),
        handler=delivery,
        serde=serde,
        dead_letters=outputs.dead_letters,
        audit=audit,
        entity_of=lambda r: str(r.value.get("entity_id") or r.key),
        on_assigned=lambda assigned: ledger.load(settings, [p for _, p in assigned]),
        on_revoked=lambda revoked: ledger.forget([p for _, p in revoked]),
        batching=None
        if options.digest_backlog is None
        else Batching(
            handler=delivery.digest,
            queue_over=options.digest_backlog,
            max_records=options.digest_max,
            foldable=_foldable,
        ),
    )
    return SinkApp(runner, http, producer, credentials)


def _foldable(record: Record) -> bool:
    """A thread reply answers one message: it is never folded into a digest."""
    return not record.value.get("thread_ts")
