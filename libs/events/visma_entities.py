"""Every Visma event type, keyed by the canonical entity type it carries.

Sources look up the event to build (`VISMA_EVENTS[entity_type]`), topics derive their names
from these keys, and tests walk the registry to prove each type has a schema and a topic.
"""

from __future__ import annotations

from events.visma import SupplierInvoiceChanged, VismaEntityChanged
from events.visma_ledger import JournalTransactionChanged
from events.visma_procurement import (
    ExpenseClaimChanged,
    PurchaseOrderChanged,
    PurchaseReceiptChanged,
    SupplierPaymentChanged,
)
from events.visma_reference import (
    AccountChanged,
    CustomerChanged,
    DimensionChanged,
    EmployeeChanged,
    SupplierChanged,
)
from events.visma_sales import CustomerInvoiceChanged, CustomerPaymentChanged

__all__ = [
    "AMOUNT_FIELDS",
    "PARTY_NAME_FIELDS",
    "REFERENCE_ENTITIES",
    "REFERENCE_FIELDS",
    "VISMA_EVENTS",
]

VISMA_EVENTS: dict[str, type[VismaEntityChanged]] = {
    model.canonical_type(): model
    for model in (
        SupplierChanged,
        SupplierInvoiceChanged,
        PurchaseOrderChanged,
        PurchaseReceiptChanged,
        ExpenseClaimChanged,
        JournalTransactionChanged,
        CustomerInvoiceChanged,
        CustomerChanged,
        SupplierPaymentChanged,
        CustomerPaymentChanged,
        AccountChanged,
        DimensionChanged,
        EmployeeChanged,
    )
}

# Entities processors join against rather than react to: their topics are compacted.
REFERENCE_ENTITIES = frozenset({"supplier", "customer", "employee", "account", "dimension"})

# The same fact under each entity's own field name, most common first: rules read "the
# amount" of any entity through these, and a monday column titled "Amount" shows whichever
# of them a record has.
AMOUNT_FIELDS = (
    "amount",
    "order_total",
    "total_amount",
    "claim_total",
    "payment_amount",
    "control_total",
)
REFERENCE_FIELDS = (
    "reference_number",
    "order_number",
    "receipt_number",
    "ref_number",
    "batch_number",
    "number",
    "employee_number",
    "account_code",
    "value_id",
)
PARTY_NAME_FIELDS = ("supplier_name", "customer_name", "employee_name", "name")
