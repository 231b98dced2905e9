"""Vendor standings on their compacted topic: encoding, decoding, loading at start.

A held bill and the vendor travel inside the standing as the facts' own Avro bytes, so what
is released later is byte for byte the bill BILL sent, decoded with the schema it was
written with.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bill_mapping.standing import HeldBill, VendorStanding
from chassis.kafka.state import read_to_end
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from events.bill import BillBillChanged, BillVendorChanged
from events.bill_holds import BillVendorStanding, HeldBillRecord, WrittenBill


def encode_standing(serde: AvroSerde, standing: VendorStanding) -> bytes:
    vendor = standing.vendor
    record = BillVendorStanding(
        tenant_id=standing.tenant_id,
        organization_id=standing.organization_id,
        vendor_id=standing.vendor_id,
        vendor=None if vendor is None else serde.encode(vendor.SCHEMA, vendor.to_record()),
        supplier_number=standing.supplier_number,
        matched_by=standing.matched_by,
        tried=list(standing.tried),
        held=[
            HeldBillRecord(
                fact=serde.encode(h.bill.SCHEMA, h.bill.to_record()), kind=h.kind, reason=h.reason
            )
            for h in standing.held
        ],
        written=[
            WrittenBill(bill_id=bill_id, updated_time=at)
            for bill_id, at in sorted(standing.written.items())
        ],
        updated_at=datetime.now(UTC),
    )
    return serde.encode(record.SCHEMA, record.to_record())


def decode_standing(serde: AvroSerde, raw: bytes) -> VendorStanding:
    _, value = serde.decode(raw)
    record = BillVendorStanding.from_record(value)
    vendor = None
    if record.vendor is not None:
        vendor = BillVendorChanged.from_record(serde.decode(record.vendor)[1])
    held = tuple(
        HeldBill(BillBillChanged.from_record(serde.decode(h.fact)[1]), h.kind, h.reason)
        for h in record.held
    )
    return VendorStanding(
        tenant_id=record.tenant_id,
        organization_id=record.organization_id,
        vendor_id=record.vendor_id,
        vendor=vendor,
        supplier_number=record.supplier_number,
        matched_by=record.matched_by,
        tried=tuple(record.tried),
        held=held,
        written={w.bill_id: w.updated_time for w in record.written},
    )


def load_standings(
    settings: KafkaSettings, serde: AvroSerde, topic: str, *, client: str
) -> list[VendorStanding]:
    """Every vendor's newest standing (committed records only)."""
    return [
        decode_standing(serde, raw) for raw in read_to_end(settings, topic, client=client).values()
    ]
