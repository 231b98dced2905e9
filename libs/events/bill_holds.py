"""The BILL mapping's own records: where each vendor stands, and an operator's link.

`BillVendorStanding` (`state.bill-vendor.v1`, compacted, one record per BILL vendor keyed
`<tenant>/<organization>/<vendor>`) is what the mapping knows of a vendor: its latest
version, the Visma supplier it was matched or linked to, what was tried when nothing
matched, and the bills held for it in the order they came. The held facts travel as they
were read (their own Avro bytes with schema id), so a held bill is exactly the bill BILL sent.
The mapping writes a standing in the same Kafka transaction as the commands it releases:
a restart neither loses a held bill nor emits one twice.

`BillVendorLinked` (`bill.vendor-link.v1`) is `mlc bill link VENDOR SUPPLIER`: the operator
says which Visma supplier a vendor is; the mapping releases the vendor's held bills.
"""

from __future__ import annotations

from datetime import datetime

from chassis.topics import TopicSpec
from events._avro import AvroModel

STATE_BILL_VENDORS = TopicSpec("state.bill-vendor.v1", partitions=3, compacted=True)
BILL_VENDOR_LINKS = TopicSpec("bill.vendor-link.v1", partitions=3)


def standing_key(tenant_id: str, organization_id: str, vendor_id: str) -> str:
    return f"{tenant_id}/{organization_id}/{vendor_id}"


class HeldBillRecord(AvroModel):
    fact: bytes
    """The `BillBillChanged` as read (Confluent wire format)."""
    kind: str
    """`unmatched` (waits for the supplier) or `unmappable` (waits for its next version)."""
    reason: str


class WrittenBill(AvroModel):
    bill_id: str
    updated_time: datetime
    """The newest version of the bill written to Visma."""


class BillVendorStanding(AvroModel):
    SCHEMA = "io.mlconnector.state.BillVendorStanding"

    tenant_id: str
    organization_id: str
    vendor_id: str
    vendor: bytes | None = None
    """The latest `BillVendorChanged` read (wire format); None while only bills were seen."""
    supplier_number: str | None = None
    matched_by: str | None = None
    tried: list[str] = []
    held: list[HeldBillRecord] = []
    written: list[WrittenBill] = []
    """Since v2: the newest version of each bill written, so an older one read late is not."""
    updated_at: datetime

    @property
    def key(self) -> str:
        return standing_key(self.tenant_id, self.organization_id, self.vendor_id)


class BillVendorLinked(AvroModel):
    SCHEMA = "io.mlconnector.bill.BillVendorLinked"

    tenant_id: str
    organization_id: str
    vendor_id: str
    supplier_number: str
    linked_by: str
    """Who ran `mlc bill link` (the operator's login name), for the audit trail."""
    linked_at: datetime

    @property
    def key(self) -> str:
        return standing_key(self.tenant_id, self.organization_id, self.vendor_id)
