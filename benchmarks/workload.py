"""The records a benchmark feeds in: realistic invoice changes and Slack commands.

Values look like the Nordic companies of the demo (SEK, NOK, DKK and EUR, amounts as exact
Decimals, real-looking suppliers and PO references), so Avro encoding and the processor's
formatting do the same work as in production. Every invoice is a distinct entity, so the
processor's dedupe table never drops one and each event is routed exactly once.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from chassis.serde import AvroSerde
from events import ChangeType, PostSlackMessage, SupplierInvoice, SupplierInvoiceChanged


@dataclass(frozen=True)
class Company:
    tenant_id: str
    company_id: str
    currency: str
    suppliers: tuple[str, ...]


COMPANIES = (
    Company("tenant-se-1", "1034561", "SEK", ("Nordisk Kontorsmaterial AB", "Göta Frakt AB")),
    Company("tenant-no-1", "2047712", "NOK", ("Bergen Sjømat AS", "Fjordkraft Service AS")),
    Company("tenant-dk-1", "3051190", "DKK", ("København Logistik ApS", "Aarhus Trykkeri A/S")),
)
EUR_SHARE = 0.15
"""Part of each company's invoices billed in EUR by foreign suppliers."""

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Encoded:
    key: bytes
    value: bytes


def invoice_changes(count: int, *, seed: int = 7) -> Iterator[SupplierInvoiceChanged]:
    """`count` CREATED changes of distinct supplier invoices, spread over the companies."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    observed = datetime.now(UTC)
    for number in range(count):
        company = COMPANIES[number % len(COMPANIES)]
        currency = "EUR" if rng.random() < EUR_SHARE else company.currency
        scale = 120 if currency == "EUR" else 1500
        amount = (Decimal(str(rng.lognormvariate(0, 1.2))) * scale).quantize(CENT)
        invoice_date = date(2026, 1, 1) + timedelta(days=rng.randrange(60))
        invoice = SupplierInvoice(
            document_type="Invoice",
            reference_number=f"{100000 + number}",
            status="Open",
            approval_status="PendingApproval",
            supplier_number=f"{70000 + rng.randrange(400)}",
            supplier_name=rng.choice(company.suppliers),
            invoice_date=invoice_date,
            due_date=invoice_date + timedelta(days=30),
            currency=currency,
            amount=amount,
            vat_amount=(amount * Decimal("0.25")).quantize(CENT),
            balance=amount,
            po_reference=f"PO-{rng.randrange(1, 9999):04d}",
            supplier_reference=f"F{rng.randrange(10**6):06d}",
            description="Goods and services",
        )
        yield SupplierInvoiceChanged(
            event_id=str(uuid.uuid4()),
            tenant_id=company.tenant_id,
            company_id=company.company_id,
            entity_id=f"Invoice:{number:07d}",
            change_type=ChangeType.CREATED,
            last_modified=start + timedelta(seconds=number),
            etag=uuid.uuid4().hex[:16],
            observed_at=observed,
            invoice=invoice,
        )


def slack_commands(channels: list[str], *, per_channel: int) -> Iterator[PostSlackMessage]:
    """`per_channel` commands for each channel, interleaved as a processor would emit them."""
    created = datetime.now(UTC)
    for round_ in range(per_channel):
        for channel in channels:
            yield PostSlackMessage(
                command_id=uuid.uuid4().hex,
                tenant_id="tenant-se-1",
                workspace="default",
                channel=channel,
                text=f"Benchmark message {round_ + 1} of {per_channel} to #{channel}",
                rule="bench",
                source_event_id=str(uuid.uuid4()),
                entity_type="supplierInvoice",
                entity_id=f"Invoice:{round_:07d}",
                created_at=created,
            )


def encode_invoices(serde: AvroSerde, changes: Iterator[SupplierInvoiceChanged]) -> list[Encoded]:
    return [
        Encoded(c.key.encode(), serde.encode(SupplierInvoiceChanged.SCHEMA, c.to_record()))
        for c in changes
    ]


def encode_commands(serde: AvroSerde, commands: Iterator[PostSlackMessage]) -> list[Encoded]:
    return [
        Encoded(c.key.encode(), serde.encode(PostSlackMessage.SCHEMA, c.to_record()))
        for c in commands
    ]
