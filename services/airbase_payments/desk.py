"""The payments desk: each Airbase payment in, its decision (the command, or the hold) written
with the entry's standing in one Kafka transaction, then kept.

One decision at a time (the chassis's `DecisionWriter`): the standings are one state and one
transactional producer writes them; the work is small, the Visma writer sets the pace.
Every hold is logged and audited under the payment's entity with its reason (`mlc airbase
held` reads the same reason from the standings); every command is audited as routed.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

from airbase_payments.config import PaymentsConfig
from airbase_payments.holds import Decision, PaymentHolds, PaymentStanding
from airbase_payments.mapping import payment_entity_id
from airbase_payments.state import encode_standing
from chassis.audit import AuditTrail, Stage
from chassis.kafka.decisions import DecisionTopics, DecisionWriter
from chassis.kafka.transactions import Transactions
from chassis.serde import AvroSerde
from events.airbase import AirbasePaymentReady

log = logging.getLogger(__name__)

COMMANDS = Counter(
    "mlc_airbase_payments_commands_total", "Supplier payments sent to the Visma writer"
)
HELD = Counter("mlc_airbase_payments_holds_total", "Payments held (or held for a new reason)")


class PaymentsDesk:
    def __init__(
        self,
        *,
        holds: PaymentHolds,
        transactions: Transactions,
        serde: AvroSerde,
        topics: DecisionTopics,
        audit: AuditTrail,
    ) -> None:
        self._holds = holds
        self._audit = audit
        self._writer: DecisionWriter[PaymentStanding, Decision] = DecisionWriter(
            transactions=transactions,
            serde=serde,
            topics=topics,
            encode_state=encode_standing,
            keep=holds.commit,
        )

    async def handle(self, payment: AirbasePaymentReady) -> Decision:
        decision = await self._writer.write(lambda: self._holds.payment_ready(payment))
        self._report(decision)
        return decision

    async def recheck(self) -> Decision:
        """Before the first payment: what the mapping file now books is released."""
        decision = await self._writer.write(self._holds.recheck)
        self._report(decision)
        if decision.commands:
            log.info("released at start", extra={"commands": len(decision.commands)})
        return decision

    async def reconfigure(self, config: PaymentsConfig) -> Decision:
        """The mapping file changed: it is in force from the next decision on, and what it
        now books is released."""
        decision = await self._writer.write(lambda: self._holds.reconfigured(config))
        self._report(decision)
        log.info("mapping file reloaded", extra={"released": len(decision.commands)})
        return decision

    def _report(self, decision: Decision) -> None:
        for command in decision.commands:
            COMMANDS.inc()
            self._audit.record(
                Stage.ROUTED,
                entity_id=command.entity_id,
                event_id=command.source_event_id,
                command_id=command.command_id,
                detail=f"supplier payment {command.payment_reference} for the Visma writer",
            )
        for standing in decision.held:
            payment = standing.held
            assert payment is not None
            HELD.inc()
            log.warning(
                "payment held",
                extra={"payment": standing.key, "reason": standing.reason},
            )
            self._audit.record(
                Stage.HELD,
                entity_id=payment_entity_id(
                    payment.tenant_id, payment.company_id, payment.entry_id
                ),
                event_id=payment.event_id,
                detail=standing.reason[:500],
            )
