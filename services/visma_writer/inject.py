"""Composition root of the Visma writer; tests and the demo pass overrides, never patches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from chassis.http import RetryPolicy
from chassis.kafka.expiry import DEFAULT_HORIZON, Expiry
from chassis.kafka.ledger import CommandLedger, check_aligned
from chassis.kafka.outputs import service_outputs
from chassis.kafka.producer import EventProducer
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.service import ConsumerService
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec
from chassis.vault import CredentialVault, vault_from_environment
from events.command_topics import SINK_AIRBASE, SINK_VISMA_WRITER
from events.commands import ApplyVismaAction
from events.deliveries import SinkDelivery
from events.topics import SINK_SLACK, STATE_VISMA_WRITER_LEDGER
from events.visma_writes import (
    REVIEW_VISMA_WRITER,
    RecordPurchaseReceipt,
    RecordSupplierPayment,
    UpsertSupplier,
    UpsertSupplierInvoice,
)
from visma_writer.config import WriterConfig
from visma_writer.credentials import ClientSettings, CompanyClients
from visma_writer.documents import DocumentWriter
from visma_writer.handler import WriterHandler, action_route, document_route
from visma_writer.ledger import SINK
from visma_writer.payment_marks import KafkaMarks, PaymentWriter
from visma_writer.receipts import PurchaseReceiptKind
from visma_writer.replies import KafkaReplies
from visma_writer.review import KafkaReview
from visma_writer.supplier_invoices import SupplierInvoiceKind
from visma_writer.supplier_payments import SupplierPaymentKind
from visma_writer.suppliers import SupplierKind, SupplierWriter
from visma_writer.vendor_suppliers import VendorSuppliers
from visma_writer.writer import VismaWriter

SERVICE = SINK


@dataclass
class WriterOptions:
    group_id: str = "mlc-visma-writer"
    commands_topic: TopicSpec = SINK_VISMA_WRITER
    ledger_topic: TopicSpec = STATE_VISMA_WRITER_LEDGER
    ledger_horizon: timedelta = DEFAULT_HORIZON
    """How long an applied command is remembered; must exceed the command topic's retention."""
    replies_topic: TopicSpec = SINK_SLACK
    """The Slack sink's commands: where the outcome is told in the requester's thread."""
    review_topic: TopicSpec = REVIEW_VISMA_WRITER
    """Where a write in conflict with Visma's record goes for a person, field by field."""
    airbase_topic: TopicSpec = SINK_AIRBASE
    """The airbase-sink's commands: where a payment booked in Visma is marked synced."""
    transport: httpx.AsyncBaseTransport | None = None
    # Only idempotent requests are repeated (GET, the note's PUT); action POSTs never are.
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(max_attempts=5, retry_server_errors=True)
    )
    hold_seconds: float = 300.0
    """While Visma refuses a company's credentials, try its commands again this often."""
    credential_refresh_seconds: float = 2.0
    """While held, re-read the vault this often for a replaced client secret."""
    vault: Callable[[], CredentialVault] | None = None
    """Opens the vault (default: from the environment, on the same Kafka)."""
    max_conflicts: int = 3
    time_scale: float = 1.0
    instance_id: str | None = None
    retry_budget: float = RunnerConfig.retry_budget
    """Seconds a failing command is retried before the DLQ (held credentials not counted)."""


@dataclass
class WriterApp(ConsumerService):
    runner: ConsumerRunner
    companies: CompanyClients
    producer: EventProducer

    async def aclose(self) -> None:
        await self.companies.aclose()
        self.producer.close()


def build(settings: KafkaSettings, config: WriterConfig, options: WriterOptions) -> WriterApp:
    expiry = Expiry(options.ledger_horizon)
    expiry.check_covers(options.commands_topic)
    check_aligned(options.ledger_topic, options.commands_topic)
    outputs = service_outputs(
        settings, service=SERVICE, group_id=options.group_id,
        topics=[
            options.commands_topic, options.ledger_topic, options.replies_topic,
            options.review_topic, options.airbase_topic,
        ],
    )  # fmt: skip
    serde, producer, audit = outputs.serde, outputs.producer, outputs.audit
    ledger = CommandLedger(
        SinkDelivery, topic=options.ledger_topic.name, producer=producer, serde=serde,
        client=f"{SERVICE}-ledger", expiry=expiry,
    )  # fmt: skip
    companies = CompanyClients(
        ClientSettings(config, options.transport, options.retry, options.time_scale),
        vault=options.vault or (lambda: vault_from_environment(kafka=settings)),
        hold_seconds=options.hold_seconds,
        refresh_seconds=options.credential_refresh_seconds,
    )
    writer = VismaWriter(
        companies=companies.actions, ledger=ledger, audit=audit,
        max_conflicts=options.max_conflicts,
        replies=KafkaReplies(producer, serde, options.replies_topic.name),
    )  # fmt: skip
    review = KafkaReview(producer, serde, options.review_topic.name)
    receipts = DocumentWriter(
        PurchaseReceiptKind(), companies=companies.clients, ledger=ledger, audit=audit,
        review=review, max_conflicts=options.max_conflicts,
    )  # fmt: skip
    vendors = VendorSuppliers(ledger)
    suppliers = SupplierWriter(DocumentWriter(
        SupplierKind(vendors), companies=companies.clients, ledger=ledger, audit=audit,
        review=review, max_conflicts=options.max_conflicts,
    ), vendors)  # fmt: skip
    invoices = DocumentWriter(
        SupplierInvoiceKind(vendors), companies=companies.clients, ledger=ledger, audit=audit,
        review=review, max_conflicts=options.max_conflicts,
    )  # fmt: skip
    payments = PaymentWriter(DocumentWriter(
        SupplierPaymentKind(), companies=companies.clients, ledger=ledger, audit=audit,
        review=review, max_conflicts=options.max_conflicts,
    ), KafkaMarks(producer, serde, options.airbase_topic.name))  # fmt: skip
    routes = {
        ApplyVismaAction.SCHEMA: action_route(writer),
        RecordPurchaseReceipt.SCHEMA: document_route(RecordPurchaseReceipt, receipts.apply),
        UpsertSupplier.SCHEMA: document_route(UpsertSupplier, suppliers.apply),
        UpsertSupplierInvoice.SCHEMA: document_route(UpsertSupplierInvoice, invoices.apply),
        RecordSupplierPayment.SCHEMA: document_route(RecordSupplierPayment, payments.apply),
    }
    runner_config = RunnerConfig(
        group_id=options.group_id,
        topics=(options.commands_topic.name,),
        instance_id=options.instance_id,
        retry_budget=options.retry_budget,
    )
    runner = ConsumerRunner(
        settings=settings,
        config=runner_config,
        handler=WriterHandler(routes, credentials=companies, audit=audit),
        serde=serde,
        dead_letters=outputs.dead_letters,
        audit=audit,
        entity_of=lambda r: str(r.value.get("entity_id") or r.key),
        # Before any command of newly assigned partitions: the previous owner wrote entries.
        on_assigned=lambda assigned: ledger.load(settings, [p for _, p in assigned]),
        on_revoked=lambda revoked: ledger.forget([p for _, p in revoked]),
    )
    return WriterApp(runner, companies, producer)
