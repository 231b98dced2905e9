"""The Visma entity types the simulator serves: route, identity and naming, in one table.

Every type is served the same way (see docs/visma-entities.md); only the route and the
fields that make up its ``entity_id`` differ. Route casing follows the public spec
(``/v1/PurchaseReceipt``, ``/v2/journaltransaction``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class EntitySpec:
    name: str
    route: str
    id_fields: tuple[str, ...]
    # Value of the last id field for the n-th record (1-based) of a company.
    number: Callable[[int], str]
    separator: str = ":"
    # Fixed values of the leading id fields for records the sandbox creates.
    id_defaults: Mapping[str, str] | None = None

    def entity_id(self, fields: Mapping[str, object]) -> str:
        return self.separator.join(str(fields[name]) for name in self.id_fields)

    def short_id(self, fields: Mapping[str, object]) -> str:
        return str(fields[self.id_fields[-1]])


def _seq(prefix: str, start: int = 1, width: int = 6) -> Callable[[int], str]:
    return lambda n: f"{prefix}{start + n - 1:0{width}d}"


ENTITY_SPECS: tuple[EntitySpec, ...] = (
    EntitySpec("supplier", "/v1/supplier", ("number",), _seq("", 10001, 5)),
    EntitySpec("employee", "/v1/employee", ("employeeNumber",), _seq("E", 1001, 4)),
    EntitySpec("customer", "/v1/customer", ("number",), _seq("", 20001, 5)),
    EntitySpec("account", "/v1/account", ("accountCd",), _seq("", 8900, 4)),
    EntitySpec(
        "dimension",
        "/v1/dimension",
        ("dimensionId", "segmentId", "valueId"),
        _seq("CC", 900, 3),
        separator="/",
        id_defaults={"dimensionId": "SUBACCOUNT", "segmentId": "1"},
    ),
    EntitySpec(
        "supplierInvoice",
        "/v1/supplierInvoice",
        ("documentType", "referenceNumber"),
        _seq("", 100001),
        id_defaults={"documentType": "Invoice"},
    ),
    EntitySpec(
        "purchaseOrder",
        "/v1/purchaseorder",
        ("orderType", "orderNbr"),
        _seq("PO-2026-", 90001, 5),
        id_defaults={"orderType": "RegularOrder"},
    ),
    EntitySpec("purchaseReceipt", "/v1/PurchaseReceipt", ("receiptNbr",), _seq("PR", 1)),
    EntitySpec("expenseClaim", "/v1/expenseClaim", ("refNbr",), _seq("EC", 1)),
    EntitySpec(
        "journalTransaction",
        "/v2/journaltransaction",
        ("module", "batchNumber"),
        _seq("", 1),
        id_defaults={"module": "ModuleGL"},
    ),
    EntitySpec(
        "customerInvoice",
        "/v1/customerinvoice",
        ("documentType", "referenceNumber"),
        _seq("", 300001),
        id_defaults={"documentType": "Invoice"},
    ),
    EntitySpec(
        "supplierPayment",
        "/v1/supplierPayment",
        ("type", "refNbr"),
        _seq("SP", 1),
        id_defaults={"type": "Payment"},
    ),
    EntitySpec(
        "customerPayment",
        "/v1/payment",
        ("type", "refNbr"),
        _seq("CP", 1),
        id_defaults={"type": "Payment"},
    ),
)

SPECS_BY_NAME = {spec.name: spec for spec in ENTITY_SPECS}
_BY_LOWER = {spec.name.lower(): spec for spec in ENTITY_SPECS}


def find_spec(name: str) -> EntitySpec | None:
    """The spec for a canonical entity name, case-insensitively."""
    return _BY_LOWER.get(name.lower())
