"""Composition root of the approvals service; tests and the demo pass overrides, never patches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from approvals.approvers import Approvers, EmployeeEmails, SlackUsers
from approvals.config import ApprovalsConfig, ApprovalsSettings
from approvals.desk import ApprovalDesk
from approvals.lookups import SlackDirectory, ViewEmployees
from approvals.outbox import GestureHandler, KafkaOutbox, OutputTopics
from approvals.posted import PostedMessages
from chassis.kafka.outputs import service_outputs
from chassis.kafka.producer import EventProducer
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.kafka.view import CompactedView, ViewFailedError
from chassis.service import ConsumerService, views_caught_up
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec
from chassis.vault import CredentialVault, vault_from_environment
from events.approvals import APPROVAL_SIGNALS
from events.command_topics import SINK_VISMA_WRITER
from events.deliveries import SLACK_LEDGER
from events.slack_events import SLACK_EVENTS
from events.topics import visma_topic
from slack_client.client import DEFAULT_BASE_URL
from slack_client.tokens import WorkspaceTokens

SERVICE = "approvals"


@dataclass
class ApprovalsOptions:
    tokens: dict[str, SecretStr] = field(default_factory=dict)
    """Workspace -> bot token given directly (from the environment)."""
    vault_credentials: dict[str, str] = field(default_factory=dict)
    """Workspace -> credential name in the vault; re-read when Slack rejects the token."""
    vault: Callable[[], CredentialVault] | None = None
    """Opens the vault (default: from the environment, on the same Kafka)."""
    api_base: str = DEFAULT_BASE_URL
    transport: httpx.AsyncBaseTransport | None = None
    instance_id: str | None = None
    employees: EmployeeEmails | None = None
    """Override the employee lookup (tests); default: a view of the employee topic."""
    slack_users: SlackUsers | None = None
    """Override the Slack user lookup (tests); default: users.lookupByEmail per workspace."""


@dataclass(frozen=True)
class ApprovalsTopics:
    events: TopicSpec
    ledger: TopicSpec
    employees: TopicSpec
    signals: TopicSpec
    actions: TopicSpec

    @classmethod
    def of(cls, settings: ApprovalsSettings) -> ApprovalsTopics:
        def prefixed(spec: TopicSpec) -> TopicSpec:
            return TopicSpec(settings.topic_prefix + spec.name, spec.partitions,
                             spec.retention_ms, spec.compacted)  # fmt: skip

        ledger = prefixed(SLACK_LEDGER)
        if settings.ledger_topic:
            ledger = TopicSpec(settings.ledger_topic, ledger.partitions, compacted=True)
        return cls(
            events=prefixed(SLACK_EVENTS),
            ledger=ledger,
            employees=prefixed(visma_topic("employee")),
            signals=prefixed(APPROVAL_SIGNALS),
            actions=prefixed(SINK_VISMA_WRITER),
        )


@dataclass
class ApprovalsApp(ConsumerService):
    runner: ConsumerRunner
    desk: ApprovalDesk
    http: httpx.AsyncClient
    producer: EventProducer
    views: list[CompactedView[Any]]
    stopped: bool = False

    def ready(self) -> bool:
        try:
            return super().ready() and all(v.wait_until_caught_up(0) for v in self.views)
        except ViewFailedError:
            return False

    def stop(self) -> None:
        self.stopped = True
        super().stop()

    async def run(self) -> None:
        """Consumes gestures only once the ledger and employee views hold everything that was
        on their topics at start: before that, a gesture would miss entries already there.
        A view that dies, then or later, ends the service with its `ViewFailedError`."""
        try:
            if await self._views_caught_up():
                await self.consume()
        finally:
            await self.aclose()

    async def _views_caught_up(self) -> bool:
        return await views_caught_up(self.views, stopped=lambda: self.stopped)

    async def aclose(self) -> None:
        for view in self.views:
            view.stop()
        await self.http.aclose()
        self.producer.close()


def budget_covering(budget_seconds: float) -> float:
    """A runner retry budget under which a gesture waiting for its ledger entry is still
    retried when the desk's budget runs out (the desk, not the runner, then dead-letters it
    with its reason): the desk counts from the gesture's arrival, the runner from its first
    call, and one more backoff may pass before the last call."""
    return budget_seconds + 2 * RunnerConfig.backoff_max


def build(
    kafka: KafkaSettings,
    settings: ApprovalsSettings,
    config: ApprovalsConfig,
    options: ApprovalsOptions,
) -> ApprovalsApp:
    topics = ApprovalsTopics.of(settings)
    outputs = service_outputs(
        kafka, service=SERVICE, group_id=settings.group_id,
        topics=[topics.events, topics.ledger, topics.employees, topics.signals, topics.actions],
    )  # fmt: skip
    serde, producer, audit = outputs.serde, outputs.producer, outputs.audit
    posted = PostedMessages(serde)
    ledger: CompactedView[Any] = CompactedView(
        kafka, [topics.ledger.name], decode=posted.decode,
        client=f"{settings.group_id}-ledger", on_removed=posted.remove,
    ).start()  # fmt: skip
    views: list[CompactedView[Any]] = [ledger]
    employees = options.employees
    if employees is None:
        view: CompactedView[dict[str, Any]] = CompactedView(
            kafka,
            [topics.employees.name],
            decode=lambda raw: serde.decode(raw)[1],
            client=f"{settings.group_id}-employees",
        ).start()
        views.append(view)
        employees = ViewEmployees(view, wait_seconds=settings.employee_wait_seconds)
    http = httpx.AsyncClient(base_url=options.api_base, transport=options.transport, timeout=30.0)
    tokens = WorkspaceTokens(
        tokens=options.tokens,
        vault_names=options.vault_credentials,
        vault=options.vault or (lambda: vault_from_environment(kafka=kafka)),
    )
    desk = ApprovalDesk(
        config=config,
        posted=posted,
        approvers=Approvers(
            employees=employees,
            slack=options.slack_users or SlackDirectory(http, tokens),
            cache_seconds=settings.approver_cache_seconds,
        ),
        outbox=KafkaOutbox(producer, serde, OutputTopics(topics.signals.name, topics.actions.name)),
        audit=audit,
        match_wait_seconds=settings.match_wait_seconds,
        ledger_read_through=ledger.read_through,
        ledger_budget_seconds=settings.ledger_budget_seconds,
        foreign_margin_seconds=settings.foreign_margin_seconds,
    )
    runner = ConsumerRunner(
        settings=kafka,
        config=RunnerConfig(
            group_id=settings.group_id,
            topics=(topics.events.name,),
            instance_id=options.instance_id,
            retry_budget=budget_covering(settings.ledger_budget_seconds),
        ),
        handler=GestureHandler(desk),
        serde=serde,
        dead_letters=outputs.dead_letters,
        audit=audit,
    )
    return ApprovalsApp(runner, desk, http, producer, views)
