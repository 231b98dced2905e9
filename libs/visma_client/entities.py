"""The Visma entities this project reads: route, wire model and how each is identified.

One `EntitySpec` per canonical entity type (the names events and topics use). The id of a
record is the canonical `entity_id` (see docs/visma-entities.md): the id fields joined by a
separator, e.g. `Invoice:10042` or `DIM1/1/SALES`. The same spec turns an `entity_id` back
into the route of that one record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from visma_client.errors import VismaRecordIncomplete
from visma_client.models import SupplierInvoiceDto, VismaRecordDto
from visma_client.models_ledger import JournalTransactionDto
from visma_client.models_procurement import (
    ExpenseClaimDto,
    PurchaseOrderDto,
    PurchaseReceiptDto,
    SupplierPaymentDto,
)
from visma_client.models_reference import (
    AccountDto,
    CustomerDto,
    DimensionDto,
    EmployeeDto,
    SupplierDto,
)
from visma_client.models_sales import CustomerInvoiceDto, CustomerPaymentDto

__all__ = ["VISMA_ENTITIES", "EntitySpec"]


@dataclass(frozen=True)
class EntitySpec:
    """One Visma entity type: where to list it, how to parse it, how to name one record.

    `item_parts` picks the id parts that make up the single-record route (all by default);
    `id_defaults` fills an id field Visma leaves out on some records.
    """

    name: str
    path: str
    model: type[VismaRecordDto]
    id_fields: tuple[str, ...]
    separator: str = ":"
    item_parts: tuple[int, ...] | None = None
    id_defaults: tuple[tuple[str, str], ...] = ()

    def id_of(self, dto: VismaRecordDto) -> str:
        """The canonical entity id of `dto`; `VismaRecordIncomplete` when an id field is empty."""
        if not isinstance(dto, self.model):
            raise TypeError(f"{self.name} expects {self.model.__name__}, got {type(dto).__name__}")
        defaults: Mapping[str, str] = dict(self.id_defaults)
        parts = []
        for field in self.id_fields:
            value = getattr(dto, field)
            text = "" if value is None else str(value).strip()
            text = text or defaults.get(field, "")
            if not text:
                raise VismaRecordIncomplete(f"{self.name} record without {field}")
            parts.append(text)
        return self.separator.join(parts)

    def item_path(self, entity_id: str) -> str:
        """The route of the one record named by `entity_id`."""
        parts = entity_id.split(self.separator, len(self.id_fields) - 1)
        if len(parts) != len(self.id_fields) or not all(parts):
            raise ValueError(f"{entity_id!r} is not a {self.name} id ({self.separator!r} joined)")
        chosen = parts if self.item_parts is None else [parts[i] for i in self.item_parts]
        return "/".join([self.path, *(quote(p, safe="") for p in chosen)])


_SPECS = (
    EntitySpec("supplier", "/v1/supplier", SupplierDto, ("number",)),
    EntitySpec(
        "supplierInvoice",
        "/v1/supplierInvoice",
        SupplierInvoiceDto,
        ("document_type", "reference_number"),
        id_defaults=(("document_type", "Invoice"),),
    ),
    EntitySpec(
        "purchaseOrder",
        "/v1/purchaseorder",
        PurchaseOrderDto,
        ("order_type", "order_nbr"),
        item_parts=(1,),
    ),
    EntitySpec("purchaseReceipt", "/v1/PurchaseReceipt", PurchaseReceiptDto, ("receipt_nbr",)),
    EntitySpec("expenseClaim", "/v1/expenseClaim", ExpenseClaimDto, ("ref_nbr",)),
    EntitySpec(
        "journalTransaction",
        "/v2/journaltransaction",
        JournalTransactionDto,
        ("module", "batch_number"),
        item_parts=(1,),
    ),
    EntitySpec(
        "customerInvoice",
        "/v1/customerinvoice",
        CustomerInvoiceDto,
        ("document_type", "reference_number"),
        item_parts=(1,),
    ),
    EntitySpec("customer", "/v1/customer", CustomerDto, ("number",)),
    EntitySpec("supplierPayment", "/v1/supplierPayment", SupplierPaymentDto, ("type", "ref_nbr")),
    EntitySpec(
        "customerPayment", "/v1/payment", CustomerPaymentDto, ("type", "ref_nbr"), item_parts=(1,)
    ),
    EntitySpec("account", "/v1/account", AccountDto, ("account_cd",)),
    EntitySpec(
        "dimension",
        "/v1/dimension",
        DimensionDto,
        ("dimension_id", "segment_id", "value_id"),
        separator="/",
    ),
    EntitySpec("employee", "/v1/employee", EmployeeDto, ("employee_number",)),
)

VISMA_ENTITIES: dict[str, EntitySpec] = {spec.name: spec for spec in _SPECS}
