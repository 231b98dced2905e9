"""Payment standings on their compacted topic: encoding, decoding, loading at start.

A held payment travels inside the standing as the fact's own Avro bytes, so what is released
later is byte for byte the payment the poller published, decoded with the schema it was
written with.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airbase_payments.holds import PaymentStanding
from chassis.kafka.state import read_to_end
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from events.airbase import AirbasePaymentReady
from events.airbase_payment_holds import AirbasePaymentStanding


def encode_standing(serde: AvroSerde, standing: PaymentStanding) -> bytes:
    held = standing.held
    record = AirbasePaymentStanding(
        tenant_id=standing.tenant_id,
        entry_id=standing.entry_id,
        held=None if held is None else serde.encode(held.SCHEMA, held.to_record()),
        reason=standing.reason or None,
        sent_versions=list(standing.sent),
        updated_at=datetime.now(UTC),
    )
    return serde.encode(record.SCHEMA, record.to_record())


def decode_standing(serde: AvroSerde, raw: bytes) -> PaymentStanding:
    _, value = serde.decode(raw)
    record = AirbasePaymentStanding.from_record(value)
    held = None
    if record.held is not None:
        held = AirbasePaymentReady.from_record(serde.decode(record.held)[1])
    return PaymentStanding(
        tenant_id=record.tenant_id,
        entry_id=record.entry_id,
        held=held,
        reason=record.reason or "",
        sent=tuple(record.sent_versions),
    )


def load_standings(
    settings: KafkaSettings, serde: AvroSerde, topic: str, *, client: str
) -> list[PaymentStanding]:
    """Every entry's newest standing (committed records only)."""
    return [
        decode_standing(serde, raw) for raw in read_to_end(settings, topic, client=client).values()
    ]
