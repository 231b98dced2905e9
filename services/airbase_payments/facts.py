"""Inbound adapter: the runner's records as payments for the desk.

A record of another schema is a permanent error (to the DLQ): `airbase.payment.v1` carries
nothing else.
"""

from __future__ import annotations

from pydantic import ValidationError

from airbase_payments.desk import PaymentsDesk
from chassis.errors import PermanentError
from chassis.kafka.record import Record
from events.airbase import AirbasePaymentReady


def payment_of(schema: str, value: dict[str, object]) -> AirbasePaymentReady:
    if schema != AirbasePaymentReady.SCHEMA:
        raise PermanentError(f"the Airbase payments read no {schema or 'unnamed'} records")
    try:
        return AirbasePaymentReady.from_record(value)
    except ValidationError as exc:
        raise PermanentError(f"not a valid {schema}: {exc.error_count()} errors") from exc


class PaymentHandler:
    def __init__(self, desk: PaymentsDesk) -> None:
        self._desk = desk

    async def __call__(self, record: Record) -> None:
        await self._desk.handle(payment_of(record.schema, record.value))
