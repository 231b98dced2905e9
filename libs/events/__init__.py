"""Canonical events and commands: the contract between sources, processors and sinks.

Each model mirrors one Avro schema in schemas/ (a test keeps them in step) and knows the
topic it travels on. Services exchange these, never a client's wire models.
"""

from events.slack import PostSlackMessage
from events.visma import ChangeType, SupplierInvoice, SupplierInvoiceChanged

__all__ = ["ChangeType", "PostSlackMessage", "SupplierInvoice", "SupplierInvoiceChanged"]
