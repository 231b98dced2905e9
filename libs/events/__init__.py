"""Canonical events and commands: the contract between sources, processors and sinks.

Each model mirrors one Avro schema in schemas/ (a test keeps them in step) and knows the
topic it travels on. Services exchange these, never a client's wire models.
"""

from events.slack import PostSlackMessage
from events.visma import ChangeType, SupplierInvoice, SupplierInvoiceChanged, VismaEntityChanged
from events.visma_entities import REFERENCE_ENTITIES, VISMA_EVENTS
from events.visma_ledger import JournalTransaction, JournalTransactionChanged
from events.visma_procurement import (
    ExpenseClaim,
    ExpenseClaimChanged,
    PurchaseOrder,
    PurchaseOrderChanged,
    PurchaseReceipt,
    PurchaseReceiptChanged,
    SupplierPayment,
    SupplierPaymentChanged,
)
from events.visma_reference import (
    Account,
    AccountChanged,
    Customer,
    CustomerChanged,
    Dimension,
    DimensionChanged,
    Employee,
    EmployeeChanged,
    Supplier,
    SupplierChanged,
)
from events.visma_sales import (
    CustomerInvoice,
    CustomerInvoiceChanged,
    CustomerPayment,
    CustomerPaymentChanged,
)

__all__ = [
    "REFERENCE_ENTITIES",
    "VISMA_EVENTS",
    "Account",
    "AccountChanged",
    "ChangeType",
    "Customer",
    "CustomerChanged",
    "CustomerInvoice",
    "CustomerInvoiceChanged",
    "CustomerPayment",
    "CustomerPaymentChanged",
    "Dimension",
    "DimensionChanged",
    "Employee",
    "EmployeeChanged",
    "ExpenseClaim",
    "ExpenseClaimChanged",
    "JournalTransaction",
    "JournalTransactionChanged",
    "PostSlackMessage",
    "PurchaseOrder",
    "PurchaseOrderChanged",
    "PurchaseReceipt",
    "PurchaseReceiptChanged",
    "Supplier",
    "SupplierChanged",
    "SupplierInvoice",
    "SupplierInvoiceChanged",
    "SupplierPayment",
    "SupplierPaymentChanged",
    "VismaEntityChanged",
]
