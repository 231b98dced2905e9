"""Composition root of the BILL mapping service; tests pass settings and config, never patches.

Why a small service on the chassis runner and not a faust processor: its decisions must be
written together with the state they change (a released bill and the standing that no longer
holds it), which is one Kafka transaction of the chassis's `TransactionalProducer`; the
runner gives the DLQ, retries and per-key order the other services have. The processor's
rules route Visma facts to sinks; this maps another source into Visma, with state of its own.

At start the standings are read whole from `state.bill-vendor.v1` and the Visma suppliers
from `visma.supplier.v1` (compacted) before the first record is handled; the runner then
consumes BILL's vendors and bills, the suppliers (a new one may release a vendor) and the
operators' links. One replica: the standings are one state (see docs/bill.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bill_mapping.config import BillMappingConfig
from bill_mapping.desk import DeskTopics, MappingDesk
from bill_mapping.facts import FactHandler, load_suppliers
from bill_mapping.settings import BillMappingSettings
from bill_mapping.standing import Standings
from bill_mapping.state import encode_standing, load_standings
from chassis.kafka.decisions import DecidingService, decisions_producer
from chassis.kafka.outputs import service_outputs
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.kafka.transactions import KafkaTransactions
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec
from events.bill import BILL_BILLS, BILL_VENDORS
from events.bill_holds import BILL_VENDOR_LINKS, STATE_BILL_VENDORS
from events.command_topics import SINK_VISMA_WRITER
from events.topics import visma_topic

SERVICE = "bill-mapping"


@dataclass(frozen=True)
class MappingTopics:
    vendors: TopicSpec
    bills: TopicSpec
    suppliers: TopicSpec
    links: TopicSpec
    commands: TopicSpec
    standings: TopicSpec

    @classmethod
    def of(cls, settings: BillMappingSettings) -> MappingTopics:
        def prefixed(spec: TopicSpec) -> TopicSpec:
            return replace(spec, name=settings.topic_prefix + spec.name)

        return cls(
            vendors=prefixed(BILL_VENDORS),
            bills=prefixed(BILL_BILLS),
            suppliers=prefixed(visma_topic("supplier")),
            links=prefixed(BILL_VENDOR_LINKS),
            commands=prefixed(SINK_VISMA_WRITER),
            standings=prefixed(STATE_BILL_VENDORS),
        )

    def all(self) -> list[TopicSpec]:
        return [self.vendors, self.bills, self.suppliers, self.links, self.commands, self.standings]


def build(
    kafka: KafkaSettings,
    settings: BillMappingSettings,
    config: BillMappingConfig,
    *,
    instance_id: str | None = None,
) -> DecidingService:
    topics = MappingTopics.of(settings)
    outputs = service_outputs(
        kafka, service=SERVICE, group_id=settings.group_id, topics=topics.all()
    )
    serde = outputs.serde
    standings = Standings(
        config,
        load_suppliers(
            kafka, serde, topics.suppliers.name, client=f"{settings.group_id}-suppliers"
        ),
        load_standings(kafka, serde, topics.standings.name, client=f"{settings.group_id}-state"),
    )
    transactional = decisions_producer(
        kafka, group_id=settings.group_id, transactional_id=settings.transactional_id
    )
    desk = MappingDesk(
        standings=standings,
        transactions=KafkaTransactions(transactional),
        serde=serde,
        topics=DeskTopics(commands=topics.commands.name, standings=topics.standings.name),
        audit=outputs.audit,
        encode_standing=encode_standing,
    )
    runner = ConsumerRunner(
        settings=kafka,
        config=RunnerConfig(
            group_id=settings.group_id,
            topics=(
                topics.vendors.name,
                topics.bills.name,
                topics.suppliers.name,
                topics.links.name,
            ),
            instance_id=instance_id,
        ),
        handler=FactHandler(desk),
        serde=serde,
        dead_letters=outputs.dead_letters,
        audit=outputs.audit,
    )
    return DecidingService(
        runner=runner,
        prepare=desk.remap,
        producer=outputs.producer,
        transactional=transactional,
    )
