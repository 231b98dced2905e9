"""A polled BILL record as its canonical fact (`events.bill`), with `source="poll"`, and the
fact's `read` audit event (searchable by `<organization>/<id>`, its event id the version).

The fact is made from the record in BILL's own JSON shape, the same shape a webhook carries,
so the poll and the webhook make the same fact of the same version (`version_id`). A poll
sees the record, not the event: created, updated or archived is read from the record
(`change_of_polled`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter
from pydantic import BaseModel

from bill_poller.poller import Entity
from bill_poller.source import ChangedRecord
from chassis.audit import AUDIT_TOPIC, AuditTrail, Stage
from chassis.errors import PermanentError
from chassis.kafka.transactions import Outgoing
from chassis.serde import AvroSerde
from events.bill import POLL, BillBillChanged, BillVendorChanged, change_of_polled

EVENTS = Counter("mlc_bill_poll_events_total", "Facts the BILL poller made", ["entity"])


class UnusableBillRecord(PermanentError):
    """BILL listed a record the canonical fact cannot hold (a field missing or malformed)."""


class PolledFacts:
    """The poller's `EventEncoder`: a vendor to `BillVendorChanged`, a bill to `BillBillChanged`."""

    def __init__(
        self,
        serde: AvroSerde,
        *,
        topics: dict[Entity, str],
        audit: AuditTrail,
        audit_topic: str = AUDIT_TOPIC.name,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Each fact comes with its `read` audit event, in the same transaction."""
        self._serde = serde
        self._topics = topics
        self._audit = audit
        self._audit_topic = audit_topic
        self._clock = clock

    def encode(
        self, entity: Entity, record: ChangedRecord, *, tenant_id: str, organization_id: str
    ) -> list[Outgoing]:
        raw = bill_json(record)
        fact_type = BillVendorChanged if entity == "vendor" else BillBillChanged
        try:
            fact: BillVendorChanged | BillBillChanged = fact_type.from_bill(
                raw, tenant_id=tenant_id, organization_id=organization_id,
                change=change_of_polled(raw), source=POLL, received_at=self._clock(),
            )  # fmt: skip
        except ValueError as exc:
            raise UnusableBillRecord(
                f"BILL {entity} {record.id} of organization {organization_id}: {exc}"
            ) from exc
        value = self._serde.encode(fact.SCHEMA, fact.to_record())
        audit_key, audit = self._audit.event(
            Stage.READ, entity_id=fact.key, event_id=fact.version_id,
            detail=f"{fact.change} {entity} polled from BILL",
        )  # fmt: skip
        EVENTS.labels(entity).inc()
        return [(self._topics[entity], fact.key, value), (self._audit_topic, audit_key, audit)]


def bill_json(record: ChangedRecord) -> dict[str, Any]:
    """The record as BILL sent it (camelCase, every field it had): the client keeps BILL's
    fields on its pydantic models under their aliases."""
    if not isinstance(record, BaseModel):
        raise UnusableBillRecord(f"BILL record {record.id} is not a client model")
    return record.model_dump(by_alias=True, mode="json")
