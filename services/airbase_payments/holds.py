"""The hold and release rules: every Airbase payment entry's standing, and what each payment
read (or a new mapping file) changes in it.

A payment the mapping can book is sent at once (`RecordSupplierPayment`), and its version is
noted on the entry's standing: the same version read again (the webhook's pull after the
schedule's, a replay) is not sent again. A payment it cannot book is held on the standing
with its reason; a newer version of the entry replaces the held one and is tried again.
At start (`recheck`), and when the file changes under the running service (`reconfigured`),
every held payment is mapped again with the file as it is now: what the fixed file allows
is released, the rest stays held with its (possibly new) reason.

The rules decide and do not keep: each call returns a `Decision` (the commands to emit and
the standings that change) and `commit` keeps it once the service has written both in one
Kafka transaction (the chassis's `DecisionWriter`). A decision that was not written is
forgotten, and the redelivered payment decides again from the same standing: released once,
never lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from airbase_payments.config import PaymentsConfig
from airbase_payments.mapping import Unmappable, payment_command
from events.airbase import AirbasePaymentReady
from events.airbase_payment_holds import payment_standing_key
from events.visma_writes import RecordSupplierPayment

SENT_VERSIONS_KEPT = 20
"""Versions of one entry remembered as sent: an entry changes a few times at most; an older
version read again after this many newer ones would be the same command id anyway, which
the writer's ledger and its lookup by payment reference apply once."""


@dataclass(frozen=True)
class PaymentStanding:
    tenant_id: str
    entry_id: str
    held: AirbasePaymentReady | None = None
    """The payment waiting for the mapping; None when nothing is held."""
    reason: str = ""
    sent: tuple[str, ...] = ()
    """The entry's versions sent to the Visma writer, oldest first."""

    @property
    def key(self) -> str:
        return payment_standing_key(self.tenant_id, self.entry_id)


@dataclass
class Decision:
    commands: list[RecordSupplierPayment] = field(default_factory=list)
    changed: list[PaymentStanding] = field(default_factory=list)
    held: list[PaymentStanding] = field(default_factory=list)
    """Standings that newly hold a payment (or hold it for another reason): to report."""


class PaymentHolds:
    """Every payment entry's standing and the hold and release rules over them."""

    def __init__(self, config: PaymentsConfig, standings: Iterable[PaymentStanding] = ()) -> None:
        self._config = config
        self._standings = {s.key: s for s in standings}

    def get(self, tenant_id: str, entry_id: str) -> PaymentStanding | None:
        return self._standings.get(payment_standing_key(tenant_id, entry_id))

    def all(self) -> list[PaymentStanding]:
        return sorted(self._standings.values(), key=lambda s: s.key)

    def commit(self, decision: Decision) -> None:
        """Keeps a decision's standings: call once they are written."""
        for standing in decision.changed:
            self._standings[standing.key] = standing

    def payment_ready(self, payment: AirbasePaymentReady) -> Decision:
        standing = self.get(payment.tenant_id, payment.entry_id) or PaymentStanding(
            payment.tenant_id, payment.entry_id
        )
        if payment.version in standing.sent:
            return Decision()  # sent already: the same command again would change nothing
        if standing.held is not None and standing.held.version == payment.version:
            return Decision()  # held already, for a reason only a new file can change
        return self._settle(replace(standing, held=payment), Decision())

    def reconfigured(self, config: PaymentsConfig) -> Decision:
        """The mapping file changed while running: from now on `config` is in force, and
        every held payment is mapped again with it."""
        self._config = config
        return self.recheck()

    def recheck(self) -> Decision:
        """With the mapping file as it is now: every held payment is mapped again; what now
        maps is released, the rest stays held with its reason."""
        decision = Decision()
        for standing in self.all():
            if standing.held is not None:
                self._settle(standing, decision)
        return decision

    def _settle(self, standing: PaymentStanding, decision: Decision) -> Decision:
        """Sends `standing`'s held payment if the mapping books it, else holds it with its
        reason; notes the standing if it changed."""
        payment = standing.held
        assert payment is not None
        result = payment_command(self._config, payment)
        if isinstance(result, Unmappable):
            settled = replace(standing, reason=result.reason)
            before = self._standings.get(settled.key)
            if before is None or before.held != payment or before.reason != result.reason:
                decision.held.append(settled)
        else:
            decision.commands.append(result)
            sent = (*standing.sent, payment.version)[-SENT_VERSIONS_KEPT:]
            settled = replace(standing, held=None, reason="", sent=sent)
        if self._standings.get(settled.key) != settled:
            decision.changed.append(settled)
        return decision
