"""The field filters the sandbox's list routes accept besides the change filter.

A writer must find what it wrote before it creates again: a supplier by its organisation or
VAT number, a supplier invoice by supplier and supplier reference, a supplier payment by
supplier and the reference the writer put on it (`paymentRef`). Visma's list routes take
such query parameters; which ones exactly is not published for every route, so the names
here are ASSUMED (docs/visma-entities.md) and clients check the results themselves too.
Matching is exact; a filter on a route that does not list it is ignored, as unknown query
parameters are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Field = Callable[[Mapping[str, Any]], object]


def _supplier_number(fields: Mapping[str, Any]) -> object:
    supplier = fields.get("supplier")
    return supplier.get("number") if isinstance(supplier, dict) else None


LIST_FILTERS: dict[str, dict[str, Field]] = {
    "supplier": {
        "corporateId": lambda f: f.get("corporateId"),
        "vatRegistrationId": lambda f: f.get("vatRegistrationId"),
        "name": lambda f: f.get("name"),
    },
    "supplierInvoice": {
        "supplier": _supplier_number,
        "supplierReference": lambda f: f.get("supplierReference"),
        "documentType": lambda f: f.get("documentType"),
    },
    "supplierPayment": {
        "supplier": _supplier_number,
        "paymentRef": lambda f: f.get("paymentRef"),
    },
}


def field_filter(entity: str, query: Mapping[str, str]) -> Callable[[Mapping[str, Any]], bool]:
    """Keeps the records whose fields equal every filter the query gives for `entity`."""
    wanted = [
        (read, query[name]) for name, read in LIST_FILTERS.get(entity, {}).items() if name in query
    ]
    return lambda fields: all(str(read(fields)) == value for read, value in wanted)
