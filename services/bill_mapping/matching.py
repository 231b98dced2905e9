"""Pairing a BILL vendor with a Visma supplier that already exists (vendor policy `match`).

The Visma suppliers come from the Visma source's `SupplierChanged` facts (`visma.supplier.v1`,
read as a table). A vendor is paired, in this order, by an explicit link (the mapping file's
`links`, or an operator's `mlc bill link`), by organisation number (BILL's tax id against
the supplier's corporate id) or by VAT number; identifiers are compared without spaces,
dashes or dots and case-insensitively, as people write them differently in the two systems.
When nothing pairs, `Unmatched.tried` says what was looked for, for `mlc bill unmatched`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bill_mapping.records import BillVendor

_NOT_SIGNIFICANT = re.compile(r"[\s.\-/]")


def normalized(identifier: str | None) -> str | None:
    if identifier is None:
        return None
    cleaned = _NOT_SIGNIFICANT.sub("", identifier).upper()
    return cleaned or None


@dataclass(frozen=True)
class KnownSupplier:
    number: str
    corporate_id: str | None = None
    vat_registration_id: str | None = None


@dataclass(frozen=True)
class Matched:
    supplier_number: str
    how: str
    """e.g. `organisation number 556677-8899`, for the audit trail."""


@dataclass(frozen=True)
class Unmatched:
    tried: tuple[str, ...]


class SupplierDirectory:
    """The Visma suppliers of each (tenant, company), indexed by their identifiers."""

    def __init__(self) -> None:
        self._suppliers: dict[tuple[str, str, str], KnownSupplier] = {}

    def learn(self, *, tenant_id: str, company_id: str, supplier: KnownSupplier) -> None:
        self._suppliers[(tenant_id, company_id, supplier.number)] = supplier

    def forget(self, *, tenant_id: str, company_id: str, number: str) -> None:
        self._suppliers.pop((tenant_id, company_id, number), None)

    def has(self, *, tenant_id: str, company_id: str, number: str) -> bool:
        return (tenant_id, company_id, number) in self._suppliers

    def match(
        self,
        vendor: BillVendor,
        *,
        company_id: str,
        links: Mapping[str, str],
    ) -> Matched | Unmatched:
        tried: list[str] = []
        linked = links.get(vendor.vendor_id)
        if linked is not None:
            return Matched(linked, f"link to supplier {linked}")
        tried.append("no link")
        candidates = [
            s
            for (tenant, company, _), s in sorted(self._suppliers.items())
            if tenant == vendor.tenant_id and company == company_id
        ]
        for label, wanted, field in (
            ("organisation number", vendor.tax_id, "corporate_id"),
            ("VAT number", vendor.vat_number, "vat_registration_id"),
        ):
            key = normalized(wanted)
            if key is None:
                tried.append(f"{label}: the vendor has none")
                continue
            for supplier in candidates:
                if normalized(getattr(supplier, field)) == key:
                    return Matched(supplier.number, f"{label} {wanted}")
            tried.append(f"{label} {wanted}: no supplier of company {company_id} has it")
        return Unmatched(tuple(tried))
