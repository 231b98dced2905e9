"""Pairing a BILL vendor with a Visma supplier that already exists (vendor policy `match`).

The Visma suppliers come from the Visma source's `SupplierChanged` facts (`visma.supplier.v1`,
read as a table). A vendor is paired, in this order, by an explicit link (the mapping file's
`links`, or an operator's `mlc bill link`), by organisation number (BILL's tax id against
the supplier's corporate id) or by VAT number (the tax id against the supplier's VAT
registration id, with or without its two-letter country prefix: DK12345678 is CVR 12345678).
Identifiers are compared without spaces, dashes or dots and case-insensitively, as people
write them differently in the two systems.
When nothing pairs, `Unmatched.tried` says what was looked for, for `mlc bill unmatched`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from events.bill import BillVendorChanged

_NOT_SIGNIFICANT = re.compile(r"[\s.\-/]")
_COUNTRY_PREFIX = re.compile(r"^[A-Z]{2}(?=\d)")


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
        vendor: BillVendorChanged,
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
        forms = _vat_forms(vendor.tax_id)
        if not forms:
            tried.append("organisation or VAT number: the vendor has no tax id")
            return Unmatched(tuple(tried))
        for supplier in candidates:
            if normalized(supplier.corporate_id) in forms:
                return Matched(supplier.number, f"organisation number {vendor.tax_id}")
        tried.append(f"organisation number {vendor.tax_id}: no supplier of company {company_id}")
        for supplier in candidates:
            if forms & _vat_forms(supplier.vat_registration_id):
                return Matched(supplier.number, f"VAT number {vendor.tax_id}")
        tried.append(f"VAT number {vendor.tax_id}: no supplier of company {company_id}")
        return Unmatched(tuple(tried))


def tax_ids(tax_id: str | None) -> tuple[str | None, str | None]:
    """A BILL tax id as (organisation number, VAT number): one written with a country prefix
    (`DK40219489`, `SE556677889901`) is a VAT number, a bare one an organisation number.
    Never both: a VAT number is not an organisation number in every country (SE and NO add
    digits or letters), so writing one into the other would overwrite a supplier's own."""
    key = normalized(tax_id)
    if key is None:
        return None, None
    if _COUNTRY_PREFIX.match(key):
        return None, tax_id
    return tax_id, None


def _vat_forms(vat: str | None) -> set[str]:
    """A VAT registration id as written and without its country prefix."""
    key = normalized(vat)
    if key is None:
        return set()
    return {key, _COUNTRY_PREFIX.sub("", key)}
