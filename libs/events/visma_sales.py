"""Sales facts from Visma.net ERP: customer invoices and customer payments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from events.visma import VismaEntityChanged, VismaPayload


class CustomerInvoice(VismaPayload):
    document_type: str
    reference_number: str
    status: str | None = None
    customer_number: str | None = None
    customer_name: str | None = None
    invoice_date: date | None = None
    due_date: date | None = None
    currency: str | None = None
    amount: Decimal | None = None
    vat_total: Decimal | None = None
    balance: Decimal | None = None


class CustomerInvoiceChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.CustomerInvoiceChanged"

    entity_type: str = "customerInvoice"
    customer_invoice: CustomerInvoice


class CustomerPayment(VismaPayload):
    payment_type: str
    ref_number: str
    status: str | None = None
    customer_number: str | None = None
    customer_name: str | None = None
    payment_method: str | None = None
    application_date: date | None = None
    currency: str | None = None
    payment_amount: Decimal | None = None


class CustomerPaymentChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.CustomerPaymentChanged"

    entity_type: str = "customerPayment"
    customer_payment: CustomerPayment
