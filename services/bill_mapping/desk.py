"""The mapping desk: each fact in, its decision written (commands and standings) in one Kafka
transaction, then kept (the chassis's `DecisionWriter`).

Four kinds of record reach it: BILL vendors and bills (`bill.vendor.v1`, `bill.bill.v1`),
the Visma source's suppliers (`visma.supplier.v1`: a supplier made by hand in Visma releases
an unmatched vendor) and operators' links (`bill.vendor-link.v1`). One decision at a time:
the standings are one state and one transactional producer writes them, so decisions are
serialised by the writer's lock (the work is small; BILL's limits, not this desk, set the
pace).

Every hold is logged and audited under the vendor's key with its reason, every release with
the supplier it found; `mlc bill unmatched` reads the same reasons from the standings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter

from bill_mapping.matching import KnownSupplier
from bill_mapping.standing import Decision, Standings, VendorStanding
from chassis.audit import AuditTrail, Stage
from chassis.kafka.decisions import DecisionTopics, DecisionWriter
from chassis.kafka.transactions import Transactions
from chassis.serde import AvroSerde
from events.bill import BillBillChanged, BillVendorChanged
from events.bill_holds import BillVendorLinked
from events.visma import ChangeType
from events.visma_reference import SupplierChanged

log = logging.getLogger(__name__)

COMMANDS = Counter(
    "mlc_bill_mapping_commands_total", "Commands emitted to the Visma writer", ["kind"]
)
HELD = Counter("mlc_bill_mapping_holds_total", "Bills newly held, by why", ["kind"])

Fact = BillVendorChanged | BillBillChanged | SupplierChanged | BillVendorLinked


@dataclass(frozen=True)
class DeskTopics:
    commands: str
    standings: str


class MappingDesk:
    def __init__(
        self,
        *,
        standings: Standings,
        transactions: Transactions,
        serde: AvroSerde,
        topics: DeskTopics,
        audit: AuditTrail,
        encode_standing: Callable[[AvroSerde, VendorStanding], bytes],
    ) -> None:
        self._standings = standings
        self._audit = audit
        self._writer: DecisionWriter[VendorStanding, Decision] = DecisionWriter(
            transactions=transactions,
            serde=serde,
            topics=DecisionTopics(commands=topics.commands, state=topics.standings),
            encode_state=encode_standing,
            keep=standings.commit,
        )

    async def handle(self, fact: Fact) -> Decision:
        decision = await self._writer.write(lambda: self._decide(fact))
        self._report(fact, decision)
        return decision

    async def remap(self) -> Decision:
        """Before the first record: what the mapping file now maps or links is released."""
        decision = await self._writer.write(self._standings.remap)
        if decision.commands:
            log.info("released at start", extra={"commands": len(decision.commands)})
        return decision

    def _decide(self, fact: Fact) -> Decision:
        if isinstance(fact, BillVendorChanged):
            return self._standings.vendor_changed(fact)
        if isinstance(fact, BillBillChanged):
            return self._standings.bill_changed(fact)
        if isinstance(fact, BillVendorLinked):
            return self._standings.link(
                tenant_id=fact.tenant_id, organization_id=fact.organization_id,
                vendor_id=fact.vendor_id, supplier_number=fact.supplier_number,
            )  # fmt: skip
        supplier = fact.supplier
        if fact.change_type is ChangeType.DELETED:
            self._standings.supplier_gone(
                tenant_id=fact.tenant_id, company_id=fact.company_id, number=supplier.number
            )
            return Decision()
        known = KnownSupplier(supplier.number, supplier.corporate_id, supplier.vat_registration_id)
        return self._standings.supplier_seen(
            tenant_id=fact.tenant_id, company_id=fact.company_id, supplier=known
        )

    def _report(self, fact: Fact, decision: Decision) -> None:
        for command in decision.commands:
            COMMANDS.labels(type(command).__name__).inc()
            self._audit.record(
                Stage.ROUTED,
                entity_id=command.entity_id,
                event_id=command.source_event_id,
                command_id=command.command_id,
                detail=f"{type(command).__name__} for the Visma writer",
            )
        if isinstance(fact, BillVendorChanged):
            self._report_unmatched(fact, decision)
        if not isinstance(fact, BillBillChanged):
            return
        for standing in decision.changed:
            for held in standing.held:
                if (
                    held.bill.bill_id == fact.bill_id
                    and held.bill.updated_time == fact.updated_time
                ):
                    HELD.labels(held.kind).inc()
                    where = {"vendor": standing.key, "bill": fact.bill_id, "reason": held.reason}
                    log.warning("bill held", extra=where)
                    self._audit.record(
                        Stage.HELD, entity_id=standing.key, event_id=fact.version_id,
                        detail=held.reason[:500],
                    )  # fmt: skip

    def _report_unmatched(self, vendor: BillVendorChanged, decision: Decision) -> None:
        for standing in decision.changed:
            if standing.vendor_id == vendor.vendor_id and standing.tried:
                tried = "; ".join(standing.tried)
                log.warning("vendor unmatched", extra={"vendor": standing.key, "tried": tried})
                self._audit.record(
                    Stage.HELD,
                    entity_id=standing.key,
                    event_id=vendor.version_id,
                    detail=f"vendor {vendor.name!r} matches no Visma supplier: {tried}"[:500],
                )
