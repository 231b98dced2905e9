"""Visma read DTOs for sales: customer invoices and customer payments."""

from __future__ import annotations

from visma_client.models import (
    Amount,
    Code,
    PartyRefDto,
    PaymentMethodRefDto,
    VismaDate,
    VismaRecordDto,
)

__all__ = ["CustomerInvoiceDto", "CustomerPaymentDto"]


class CustomerInvoiceDto(VismaRecordDto):
    """`GET /v1/customerinvoice` item."""

    document_type: str | None = None
    reference_number: Code | None = None
    status: str | None = None
    customer: PartyRefDto | None = None
    date: VismaDate | None = None
    due_date: VismaDate | None = None
    currency_id: str | None = None
    amount: Amount | None = None
    vat_total: Amount | None = None
    balance: Amount | None = None


class CustomerPaymentDto(VismaRecordDto):
    """`GET /v1/payment` item."""

    type: str | None = None
    ref_nbr: Code | None = None
    status: str | None = None
    customer: PartyRefDto | None = None
    payment_method: PaymentMethodRefDto | None = None
    application_date: VismaDate | None = None
    currency: str | None = None
    payment_amount: Amount | None = None
