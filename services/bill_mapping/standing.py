"""Where each BILL vendor stands, and the bills held for it: the hold and release rules.

Under the `match` policy a bill is written only with its vendor's Visma supplier. A vendor
nothing pairs with is unmatched: its bills are held, in the order they came, on the vendor's
`VendorStanding`, which says what was tried. Under `create` a bill that comes before any
version of its vendor waits for it the same way (`waiting`). A supplier seen in Visma, or an
operator's link, releases the vendor: every held bill is emitted once, in BILL's order (the
bills' updated time), whatever order their topic's partitions delivered them in. A bill that
cannot be booked as configured (an unmapped GL account or department) is held on its
vendor's standing too, with the reason; its next version is mapped again.

The rules decide and do not keep: each call returns a `Decision` (the commands to emit and
the standings that change) and `commit` keeps it once the service has written both in one
Kafka transaction. A decision that was not written is forgotten, and the redelivered record
decides again from the same standing: nothing is lost, nothing emitted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from bill_mapping.config import BillMappingConfig, OrganizationMapping, VendorPolicy
from bill_mapping.mapping import Unmappable, invoice_command, supplier_command
from bill_mapping.matching import KnownSupplier, Matched, SupplierDirectory
from chassis.errors import PermanentError
from events.bill import BillBillChanged, BillVendorChanged
from events.bill_holds import standing_key
from events.visma_writes import UpsertSupplier, UpsertSupplierInvoice

Command = UpsertSupplier | UpsertSupplierInvoice

PENDING = "pending"
UNMATCHED = "unmatched"
UNMAPPABLE = "unmappable"
LINK = "link"
WAITING = "waiting"
"""Policy `create`: the bill came before any version of its vendor, whose supplier it needs."""


@dataclass(frozen=True)
class HeldBill:
    bill: BillBillChanged
    kind: str
    """`unmatched` (waits for the vendor's supplier), `waiting` (policy `create`: waits for
    the vendor's first version, its supplier made from it), `unmappable` (waits for its next
    version, the mapping being fixed) or `pending` (just come, not settled yet)."""
    reason: str


@dataclass(frozen=True)
class VendorStanding:
    tenant_id: str
    organization_id: str
    vendor_id: str
    vendor: BillVendorChanged | None = None
    """The latest version seen; None while only its bills have been seen."""
    supplier_number: str | None = None
    """The Visma supplier it was matched or linked to (policy `match`)."""
    matched_by: str | None = None
    tried: tuple[str, ...] = ()
    """What was looked for when it last did not match."""
    held: tuple[HeldBill, ...] = ()
    written: Mapping[str, datetime] = field(default_factory=dict)
    """The newest version (updated time) of each of its bills written to Visma: an older or
    the same version read later (a late webhook after a poll) is not written again."""

    @property
    def key(self) -> str:
        return standing_key(self.tenant_id, self.organization_id, self.vendor_id)

    @property
    def linked(self) -> bool:
        return self.matched_by is not None and self.matched_by.startswith(LINK)


@dataclass
class Decision:
    commands: list[Command] = field(default_factory=list)
    changed: list[VendorStanding] = field(default_factory=list)


class NotConfiguredError(PermanentError):
    """The tenant and organization of a record are not in the mapping file."""


class Standings:
    """Every vendor's standing and the hold and release rules over them."""

    def __init__(
        self,
        config: BillMappingConfig,
        suppliers: SupplierDirectory,
        standings: Iterable[VendorStanding] = (),
    ) -> None:
        self._config = config
        self._suppliers = suppliers
        self._standings = {s.key: s for s in standings}

    def get(self, tenant_id: str, organization_id: str, vendor_id: str) -> VendorStanding | None:
        return self._standings.get(standing_key(tenant_id, organization_id, vendor_id))

    def all(self) -> list[VendorStanding]:
        return sorted(self._standings.values(), key=lambda s: s.key)

    def commit(self, decision: Decision) -> None:
        """Keeps a decision's standings: call once they are written."""
        for standing in decision.changed:
            self._standings[standing.key] = standing

    def vendor_changed(self, vendor: BillVendorChanged) -> Decision:
        org = self._org(vendor.tenant_id, vendor.organization_id)
        before = self._standing(vendor.tenant_id, vendor.organization_id, vendor.vendor_id)
        if before.vendor is not None and before.vendor.updated_time >= vendor.updated_time:
            return Decision()  # seen already (the webhook after the poll), or older and late
        standing = replace(before, vendor=vendor)
        if org.vendor_policy is VendorPolicy.MATCH:
            standing = self._match(org, standing)
        return self._settle(org, standing, Decision(), write_vendor=True)

    def bill_changed(self, bill: BillBillChanged) -> Decision:
        org = self._org(bill.tenant_id, bill.organization_id)
        standing = self._standing(bill.tenant_id, bill.organization_id, bill.vendor_id)
        newest = standing.written.get(bill.bill_id)
        if newest is not None and newest >= bill.updated_time:
            return Decision()  # this version or a newer one is written already
        if bill.archived:
            return self._archived(standing, bill)
        return self._settle(org, replace(standing, held=_with(standing.held, bill)), Decision())

    def supplier_seen(
        self, *, tenant_id: str, company_id: str, supplier: KnownSupplier
    ) -> Decision:
        """A Visma supplier appeared or changed: every unmatched vendor of the company is
        looked at again; those it pairs with are released."""
        self._suppliers.learn(tenant_id=tenant_id, company_id=company_id, supplier=supplier)
        decision = Decision()
        for standing in self.all():
            org = self._config.organization(standing.tenant_id, standing.organization_id)
            if (
                org is None
                or standing.tenant_id != tenant_id
                or org.company != company_id
                or org.vendor_policy is not VendorPolicy.MATCH
                or standing.supplier_number is not None
                or standing.vendor is None
            ):
                continue
            matched = self._match(org, standing)
            if matched.supplier_number is not None:
                self._settle(org, matched, decision, write_vendor=True)
        return decision

    def supplier_gone(self, *, tenant_id: str, company_id: str, number: str) -> None:
        """A supplier deleted in Visma pairs with no vendor from now on (vendors matched to
        it keep their number: their invoices exist in Visma under it)."""
        self._suppliers.forget(tenant_id=tenant_id, company_id=company_id, number=number)

    def link(
        self, *, tenant_id: str, organization_id: str, vendor_id: str, supplier_number: str
    ) -> Decision:
        """The operator's pairing: the vendor is the supplier from now on, its bills go."""
        org = self._org(tenant_id, organization_id)
        before = self._standing(tenant_id, organization_id, vendor_id)
        how = f"{LINK} to supplier {supplier_number}"
        standing = replace(before, supplier_number=supplier_number, matched_by=how, tried=())
        return self._settle(org, standing, Decision(), write_vendor=before != standing)

    def remap(self) -> Decision:
        """At start, with the mapping file as it is now: bills held as unmappable are mapped
        again, and unmatched vendors matched again (the file may name a link now). What the
        file fixed is released; the rest stays held with its reason."""
        decision = Decision()
        for standing in self.all():
            org = self._config.organization(standing.tenant_id, standing.organization_id)
            if org is None:
                continue
            unmatched = org.vendor_policy is VendorPolicy.MATCH and standing.supplier_number is None
            retried = replace(standing, held=tuple(
                replace(h, kind=PENDING) if h.kind == UNMAPPABLE else h for h in standing.held
            ))  # fmt: skip
            if unmatched:
                retried = self._match(org, retried)
            newly_matched = unmatched and retried.supplier_number is not None
            self._settle(org, retried, decision, write_vendor=newly_matched)
        return decision

    def _archived(self, standing: VendorStanding, bill: BillBillChanged) -> Decision:
        """An archived bill is not written: a held one is let go (a newer version of it may
        come back restored); one already in Visma stays as it is there (nothing deletes)."""
        kept = tuple(h for h in standing.held if h.bill.bill_id != bill.bill_id)
        if kept == standing.held:
            return Decision()
        return Decision(changed=[replace(standing, held=kept)])

    def _org(self, tenant_id: str, organization_id: str) -> OrganizationMapping:
        org = self._config.organization(tenant_id, organization_id)
        if org is None:
            raise NotConfiguredError(
                f"tenant {tenant_id!r} has no BILL organization {organization_id!r} in the mapping"
            )
        return org

    def _standing(self, tenant_id: str, organization_id: str, vendor_id: str) -> VendorStanding:
        found = self.get(tenant_id, organization_id, vendor_id)
        return found or VendorStanding(tenant_id, organization_id, vendor_id)

    def _match(self, org: OrganizationMapping, standing: VendorStanding) -> VendorStanding:
        if standing.vendor is None or standing.linked:
            return standing  # an operator's link stands until they change it
        result = self._suppliers.match(standing.vendor, company_id=org.company, links=org.links)
        if isinstance(result, Matched):
            return replace(
                standing, supplier_number=result.supplier_number, matched_by=result.how, tried=()
            )
        return replace(standing, supplier_number=None, matched_by=None, tried=result.tried)

    def _settle(
        self,
        org: OrganizationMapping,
        standing: VendorStanding,
        decision: Decision,
        *,
        write_vendor: bool = False,
    ) -> Decision:
        """Writes the vendor when asked and it can go, then every held bill that can go now,
        oldest first; keeps the others held with their reason; notes the standing if it
        changed."""
        # A bill goes only after its vendor's supplier: under `match` the one it pairs with,
        # under `create` the one its vendor's UpsertSupplier makes (never a bill first: the
        # writer could only retry it, and the supplier's command, same key, waits behind it).
        matching = org.vendor_policy is VendorPolicy.MATCH
        waits = standing.supplier_number is None and (matching or standing.vendor is None)
        if write_vendor and standing.vendor is not None and not waits:
            decision.commands.append(
                supplier_command(org, standing.vendor, supplier_number=standing.supplier_number)
            )
        still: list[HeldBill] = []
        written = dict(standing.written)
        for held in standing.held:
            if held.kind == UNMAPPABLE:
                still.append(held)  # waits for its next version
            elif waits:
                kind = UNMATCHED if matching else WAITING
                still.append(replace(held, kind=kind, reason=_unmatched(standing)))
            else:
                command = invoice_command(org, held.bill, supplier_number=standing.supplier_number)
                if isinstance(command, Unmappable):
                    still.append(HeldBill(held.bill, UNMAPPABLE, command.reason))
                else:
                    decision.commands.append(command)
                    written[held.bill.bill_id] = held.bill.updated_time
        settled = replace(standing, held=tuple(still), written=written)
        if self._standings.get(settled.key) != settled:
            decision.changed.append(settled)
        return decision


def _unmatched(standing: VendorStanding) -> str:
    if standing.vendor is None:
        return f"vendor {standing.vendor_id} not seen yet"
    who = f"vendor {standing.vendor_id} ({standing.vendor.name})"
    return f"{who} matches no Visma supplier: " + "; ".join(standing.tried)


def _with(held: tuple[HeldBill, ...], bill: BillBillChanged) -> tuple[HeldBill, ...]:
    """`held` with `bill` to be settled, in BILL's order (updated time, then id): a newer
    version replaces its older one (and is mapped again), an older or the same version
    changes nothing held."""
    for earlier in held:
        if earlier.bill.bill_id == bill.bill_id and earlier.bill.updated_time >= bill.updated_time:
            return held
    others = [h for h in held if h.bill.bill_id != bill.bill_id]
    return tuple(sorted([*others, HeldBill(bill, PENDING, "")], key=_in_bill_order))


def _in_bill_order(held: HeldBill) -> tuple[datetime, str]:
    return held.bill.updated_time, held.bill.bill_id
