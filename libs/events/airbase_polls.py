"""The airbase-poller's memory: the version of each payment entry it has published.

An Airbase payment stays `sync_ready` until it is marked synced, so every pull lists it
again. Each entry the poller published has a record on `state.airbase-poller.v1`
(compacted, key `<tenant>/<entry id>`) written in the same Kafka transaction as the fact:
the version published, and a digest of the entry's JSON as read, so an unchanged entry costs
no call for its bill on the next pull. A crash before the commit loses the fact and the
record together; the next pull publishes the version again, once.
"""

from __future__ import annotations

from datetime import datetime

from chassis.topics import TopicSpec
from events._avro import AvroModel

STATE_AIRBASE_POLLER = TopicSpec("state.airbase-poller.v1", partitions=3, compacted=True)


class AirbasePolledEntry(AvroModel):
    SCHEMA = "io.mlconnector.state.AirbasePolledEntry"

    tenant_id: str
    entry_id: str
    version: str
    """The `AirbasePaymentReady.version` last published for this entry."""
    entry_digest: str
    """A digest of the entry's JSON as last read: unchanged, its bill is not read again."""
    bill_ref: str | None = None
    """The paid bill's `erp_reference_id` when published (None: read the bill again)."""
    published_at: datetime

    @property
    def key(self) -> str:
        return f"{self.tenant_id}/{self.entry_id}"
