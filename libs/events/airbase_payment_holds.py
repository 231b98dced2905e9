"""The Airbase payments service's own record: where each Airbase payment entry stands.

`AirbasePaymentStanding` (`state.airbase-payment.v1`, compacted, one record per ledger entry
keyed `<tenant>/<entry id>` like the payment fact) says whether the payment is held, and
why, and which versions of it were sent to the Visma writer. A held payment travels as it
was read (the `AirbasePaymentReady`'s own Avro bytes with schema id), so what is released
later is exactly what the poller published. The service writes a standing in the same
Kafka transaction as the command it releases: a restart neither loses a held payment nor
sends one twice. `mlc airbase held` lists the held ones with their reason.
"""

from __future__ import annotations

from datetime import datetime

from chassis.topics import TopicSpec
from events._avro import AvroModel

STATE_AIRBASE_PAYMENTS = TopicSpec("state.airbase-payment.v1", partitions=3, compacted=True)


def payment_standing_key(tenant_id: str, entry_id: str) -> str:
    return f"{tenant_id}/{entry_id}"


class AirbasePaymentStanding(AvroModel):
    SCHEMA = "io.mlconnector.state.AirbasePaymentStanding"

    tenant_id: str
    entry_id: str
    held: bytes | None = None
    """The held `AirbasePaymentReady` as read (wire format); None when nothing is held."""
    reason: str | None = None
    """Why it is held: every problem, each naming the line or reference."""
    sent_versions: list[str] = []
    """The entry versions sent to the Visma writer, oldest first (the newest few)."""
    updated_at: datetime

    @property
    def key(self) -> str:
        return payment_standing_key(self.tenant_id, self.entry_id)
