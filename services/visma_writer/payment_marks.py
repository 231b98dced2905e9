"""Telling Airbase a payment is booked: one `MarkAirbaseEntrySynced` per payment in Visma.

The Visma writer alone knows when a supplier payment is in Visma and under which number, so
once a `RecordSupplierPayment` with `reply_to == "airbase"` is DONE (now, or found done
earlier) it sends the mark to the airbase-sink's topic. The mark's command id is derived
from the payment command's (`events.commands.mark_synced_command_id`) and it carries the
command's time, so a redelivered payment sends the same record again and the sink's ledger
drops the repeat. A payment sent to review is not in Visma: no mark.
"""

from __future__ import annotations

from typing import Protocol

from chassis.kafka.confirmed import ConfirmedTopic
from events.commands import MarkAirbaseEntrySynced, mark_synced_command_id
from events.visma_writes import RecordSupplierPayment
from visma_writer.documents import DocumentWriter
from visma_writer.supplier_payments import PaymentTarget

REPLY_TO_AIRBASE = "airbase"


class Marks(Protocol):
    """Where marks go; `send` returns once the mark is durable."""

    async def send(self, mark: MarkAirbaseEntrySynced) -> None: ...


class KafkaMarks(ConfirmedTopic):
    """Sends each mark to `sink.airbase.v1` (keyed by tenant) and waits for Kafka to take it."""


def synced_mark(command: RecordSupplierPayment, *, payment_number: str) -> MarkAirbaseEntrySynced:
    return MarkAirbaseEntrySynced(
        command_id=mark_synced_command_id(command.command_id),
        tenant_id=command.tenant_id,
        entry_id=command.source_id,
        visma_payment_number=payment_number,
        company_id=command.company_id,
        rule=command.rule,
        source_event_id=command.source_event_id,
        entity_type=command.entity_type,
        entity_id=command.entity_id,
        # The command's time, not now: a repeated mark is byte for byte the same record.
        created_at=command.created_at,
    )


class PaymentWriter:
    """The document writer for supplier payments, then the mark for the payment's source."""

    def __init__(
        self, writer: DocumentWriter[RecordSupplierPayment, PaymentTarget], marks: Marks
    ) -> None:
        self._writer = writer
        self._marks = marks

    async def apply(self, command: RecordSupplierPayment) -> str | None:
        number = await self._writer.apply(command)
        if number is not None and command.reply_to == REPLY_TO_AIRBASE:
            await self._marks.send(synced_mark(command, payment_number=number))
        return number
