"""Where each BILL vendor stands, and the bills held for it: the hold and release rules.

Under the `match` policy a bill is written only with its vendor's Visma supplier. A vendor
nothing pairs with is unmatched: its bills are held, in the order they came, on the vendor's
`VendorStanding`, which says what was tried. A standing is one compacted record per vendor
(the service writes it in the same Kafka transaction as the commands it releases), so a
restart loses no held bill and releases none twice. A supplier seen in Visma, or an
operator's link, releases the vendor: every held bill is emitted once, oldest first.

A bill that cannot be booked as configured (an unmapped GL account or department) is held
on its vendor's standing too, with the reason; its next version is mapped again.

The rules are pure: each call returns the commands to emit and the standings that changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from bill_mapping.config import BillMappingConfig, OrganizationMapping, VendorPolicy
from bill_mapping.mapping import Unmappable, invoice_write, supplier_write
from bill_mapping.matching import KnownSupplier, Matched, SupplierDirectory, Unmatched
from bill_mapping.records import BillInvoice, BillVendor, InvoiceWrite, SupplierWrite

Write = SupplierWrite | InvoiceWrite

PENDING = "pending"
UNMATCHED = "unmatched"
UNMAPPABLE = "unmappable"


def standing_key(tenant_id: str, organization_id: str, vendor_id: str) -> str:
    return f"{tenant_id}/{organization_id}/{vendor_id}"


@dataclass(frozen=True)
class HeldBill:
    bill: BillInvoice
    kind: str
    """`unmatched` (waits for the vendor's supplier), `unmappable` (waits for its next
    version, the mapping being fixed) or `pending` (just come, not settled yet)."""
    reason: str


@dataclass(frozen=True)
class VendorStanding:
    tenant_id: str
    organization_id: str
    vendor_id: str
    vendor: BillVendor | None = None
    """The latest version seen; None while only its bills have been seen."""
    supplier_number: str | None = None
    """The Visma supplier it was matched or linked to (policy `match`)."""
    matched_by: str | None = None
    tried: tuple[str, ...] = ()
    """What was looked for when it last did not match."""
    held: tuple[HeldBill, ...] = ()

    @property
    def key(self) -> str:
        return standing_key(self.tenant_id, self.organization_id, self.vendor_id)


@dataclass
class Outcome:
    writes: list[Write] = field(default_factory=list)
    changed: list[VendorStanding] = field(default_factory=list)


class NotConfiguredError(Exception):
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
        self._links: dict[str, str] = {}
        self._standings = {s.key: s for s in standings}

    def get(self, tenant_id: str, organization_id: str, vendor_id: str) -> VendorStanding | None:
        return self._standings.get(standing_key(tenant_id, organization_id, vendor_id))

    def all(self) -> list[VendorStanding]:
        return list(self._standings.values())

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

    def vendor_changed(self, vendor: BillVendor) -> Outcome:
        org = self._org(vendor.tenant_id, vendor.organization_id)
        before = self._standing(vendor.tenant_id, vendor.organization_id, vendor.vendor_id)
        standing = replace(before, vendor=vendor)
        outcome = Outcome()
        if org.vendor_policy is VendorPolicy.CREATE:
            outcome.writes.append(supplier_write(org, vendor))
            return self._settle(org, standing, outcome)
        standing = self._match(org, standing)
        if standing.supplier_number is not None:
            write = supplier_write(org, vendor)
            outcome.writes.append(replace(write, supplier_number=standing.supplier_number))
        return self._settle(org, standing, outcome)

    def bill_changed(self, bill: BillInvoice) -> Outcome:
        org = self._org(bill.tenant_id, bill.organization_id)
        standing = self._standing(bill.tenant_id, bill.organization_id, bill.vendor_id)
        return self._settle(org, replace(standing, held=_with(standing.held, bill)), Outcome())

    def supplier_seen(self, *, tenant_id: str, company_id: str, supplier: KnownSupplier) -> Outcome:
        """A Visma supplier appeared or changed: every unmatched vendor of the company is
        looked at again; those it pairs with are released."""
        self._suppliers.learn(tenant_id=tenant_id, company_id=company_id, supplier=supplier)
        outcome = Outcome()
        for standing in sorted(self._standings.values(), key=lambda s: s.key):
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
                assert matched.vendor is not None
                write = supplier_write(org, matched.vendor)
                outcome.writes.append(replace(write, supplier_number=matched.supplier_number))
                self._settle(org, matched, outcome)
        return outcome

    def link(
        self, *, tenant_id: str, organization_id: str, vendor_id: str, supplier_number: str
    ) -> Outcome:
        """The operator's pairing: the vendor is the supplier from now on, its bills go."""
        org = self._org(tenant_id, organization_id)
        before = self._standing(tenant_id, organization_id, vendor_id)
        how = f"link to supplier {supplier_number}"
        standing = replace(before, supplier_number=supplier_number, matched_by=how, tried=())
        outcome = Outcome()
        if standing.vendor is not None:
            write = supplier_write(org, standing.vendor)
            outcome.writes.append(replace(write, supplier_number=supplier_number))
        return self._settle(org, standing, outcome)

    def _match(self, org: OrganizationMapping, standing: VendorStanding) -> VendorStanding:
        if standing.vendor is None:
            return standing
        if standing.matched_by is not None and standing.matched_by.startswith("link"):
            return standing  # an operator's link stands until they change it
        result = self._suppliers.match(standing.vendor, company_id=org.company, links=org.links)
        if isinstance(result, Matched):
            return replace(
                standing, supplier_number=result.supplier_number, matched_by=result.how, tried=()
            )
        assert isinstance(result, Unmatched)
        return replace(standing, supplier_number=None, matched_by=None, tried=result.tried)

    def _settle(
        self, org: OrganizationMapping, standing: VendorStanding, outcome: Outcome
    ) -> Outcome:
        """Writes every held bill that can go now, oldest first; keeps the others held with
        their reason; records the standing if it changed."""
        waits_for_supplier = (
            org.vendor_policy is VendorPolicy.MATCH and standing.supplier_number is None
        )
        still: list[HeldBill] = []
        for held in standing.held:
            if held.kind == UNMAPPABLE:
                still.append(held)  # waits for its next version
                continue
            if waits_for_supplier:
                still.append(replace(held, kind=UNMATCHED, reason=self._unmatched(standing)))
                continue
            write = invoice_write(org, held.bill, supplier_number=standing.supplier_number)
            if isinstance(write, Unmappable):
                still.append(HeldBill(held.bill, UNMAPPABLE, write.reason))
            else:
                outcome.writes.append(write)
        settled = replace(standing, held=tuple(still))
        if self._standings.get(settled.key) != settled:
            self._standings[settled.key] = settled
            outcome.changed.append(settled)
        return outcome

    @staticmethod
    def _unmatched(standing: VendorStanding) -> str:
        if standing.vendor is None:
            return f"vendor {standing.vendor_id} not seen yet"
        tried = "; ".join(standing.tried)
        who = f"vendor {standing.vendor_id} ({standing.vendor.name})"
        return f"{who} matches no Visma supplier: {tried}"


def _with(held: tuple[HeldBill, ...], bill: BillInvoice) -> tuple[HeldBill, ...]:
    """`held` with `bill` to be settled: a newer version takes its older one's place (and
    is mapped again), an older or the same version changes nothing held."""
    fresh = HeldBill(bill, PENDING, "")
    for index, earlier in enumerate(held):
        if earlier.bill.bill_id == bill.bill_id:
            if earlier.bill.updated_time >= bill.updated_time:
                return held
            return (*held[:index], fresh, *held[index + 1 :])
    return (*held, fresh)
