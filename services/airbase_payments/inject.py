"""Composition root of the Airbase payments service; tests pass settings and config, never
patches.

A small service on the chassis runner, like the BILL mapping (docs/bill.md says why not a
faust processor): a released payment and the standing that no longer holds it are written in
one Kafka transaction (`chassis.kafka.decisions`). At start the standings are read whole from
`state.airbase-payment.v1` and every held payment is mapped again with the file as it is now
(released once if it maps), before the runner consumes `airbase.payment.v1`; while it runs,
the file is looked at now and then and a fixed one taken up (`reload`). One replica:
the standings are one state (docs/airbase-payments.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from airbase_payments.config import PaymentsConfig
from airbase_payments.desk import PaymentsDesk
from airbase_payments.facts import PaymentHandler
from airbase_payments.holds import PaymentHolds
from airbase_payments.reload import RELOAD_SECONDS, MappingReload
from airbase_payments.settings import AirbasePaymentsSettings
from airbase_payments.state import load_standings
from chassis.kafka.decisions import DecidingService, DecisionTopics, decisions_producer
from chassis.kafka.outputs import service_outputs
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.kafka.transactions import KafkaTransactions
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec
from events.airbase import AIRBASE_PAYMENTS
from events.airbase_payment_holds import STATE_AIRBASE_PAYMENTS
from events.command_topics import SINK_VISMA_WRITER

SERVICE = "airbase-payments"


@dataclass(frozen=True)
class PaymentsTopics:
    payments: TopicSpec
    commands: TopicSpec
    standings: TopicSpec

    @classmethod
    def of(cls, settings: AirbasePaymentsSettings) -> PaymentsTopics:
        def prefixed(spec: TopicSpec) -> TopicSpec:
            return replace(spec, name=settings.topic_prefix + spec.name)

        return cls(
            payments=prefixed(AIRBASE_PAYMENTS),
            commands=prefixed(SINK_VISMA_WRITER),
            standings=prefixed(STATE_AIRBASE_PAYMENTS),
        )

    def all(self) -> list[TopicSpec]:
        return [self.payments, self.commands, self.standings]


def build(
    kafka: KafkaSettings,
    settings: AirbasePaymentsSettings,
    config: PaymentsConfig,
    *,
    instance_id: str | None = None,
    watch: Path | None = None,
    reload_seconds: float = RELOAD_SECONDS,
) -> DecidingService:
    """The service on `config`; with `watch` (the file `config` was read from) and
    `reload_seconds` > 0, the file is looked at that often and a fixed one taken up."""
    topics = PaymentsTopics.of(settings)
    outputs = service_outputs(
        kafka, service=SERVICE, group_id=settings.group_id, topics=topics.all()
    )
    serde = outputs.serde
    holds = PaymentHolds(
        config,
        load_standings(kafka, serde, topics.standings.name, client=f"{settings.group_id}-state"),
    )
    transactional = decisions_producer(
        kafka, group_id=settings.group_id, transactional_id=settings.transactional_id
    )
    desk = PaymentsDesk(
        holds=holds,
        transactions=KafkaTransactions(transactional),
        serde=serde,
        topics=DecisionTopics(commands=topics.commands.name, state=topics.standings.name),
        audit=outputs.audit,
    )
    runner = ConsumerRunner(
        settings=kafka,
        config=RunnerConfig(
            group_id=settings.group_id,
            topics=(topics.payments.name,),
            instance_id=instance_id,
        ),
        handler=PaymentHandler(desk),
        serde=serde,
        dead_letters=outputs.dead_letters,
        audit=outputs.audit,
    )
    alongside = []
    if watch is not None and reload_seconds > 0:
        alongside.append(MappingReload(watch, desk, every_seconds=reload_seconds).run)
    return DecidingService(
        runner=runner,
        prepare=desk.recheck,
        producer=outputs.producer,
        transactional=transactional,
        alongside=alongside,
    )
