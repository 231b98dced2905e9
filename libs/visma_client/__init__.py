"""Typed async client for Visma.net ERP: tokens, paging, rate budget and typed errors.

Build it with an `httpx.AsyncClient` whose base URL is the API (live or sandbox);
nothing here knows which one it talks to.
"""

from visma_client.actions import (
    SUPPLIER_INVOICE_ACTIONS,
    InvoiceVersion,
    SupplierInvoiceActions,
    SupplierInvoiceStateDto,
    VismaActionUnknown,
)
from visma_client.auth import TokenProvider
from visma_client.client import Created, VismaClient, format_visma_datetime
from visma_client.companies import (
    CompaniesFile,
    CompaniesFileError,
    CompanyAccess,
    company_client,
    company_secrets,
    load_companies_file,
)
from visma_client.config import DEFAULT_SCOPE, VismaCredentials, VismaEndpoints
from visma_client.entities import VISMA_ENTITIES, EntitySpec
from visma_client.errors import (
    VismaAuthError,
    VismaContractError,
    VismaCredentialsRefused,
    VismaError,
    VismaPreconditionFailed,
    VismaRateLimited,
    VismaRecordIncomplete,
    VismaRequestRejected,
    VismaServerError,
    VismaUnavailable,
)
from visma_client.models import (
    Page,
    RejectedRecord,
    SupplierInvoiceDto,
    SupplierInvoiceLineDto,
    SupplierInvoicePage,
    SupplierRefDto,
    VismaMetadataDto,
    VismaRecordDto,
)
from visma_client.payments import (
    PaidDocument,
    PaymentAllocationWrite,
    SupplierPayments,
    SupplierPaymentWrite,
)
from visma_client.receipts import OrderVersion, PurchaseReceipts, ReceiptLineRequest
from visma_client.suppliers import (
    InvoiceLineWrite,
    SupplierInvoiceWrite,
    Suppliers,
    SupplierWrite,
)

__all__ = [
    "DEFAULT_SCOPE",
    "SUPPLIER_INVOICE_ACTIONS",
    "VISMA_ENTITIES",
    "CompaniesFile",
    "CompaniesFileError",
    "CompanyAccess",
    "Created",
    "EntitySpec",
    "InvoiceLineWrite",
    "InvoiceVersion",
    "OrderVersion",
    "Page",
    "PaidDocument",
    "PaymentAllocationWrite",
    "PurchaseReceipts",
    "ReceiptLineRequest",
    "RejectedRecord",
    "SupplierInvoiceActions",
    "SupplierInvoiceDto",
    "SupplierInvoiceLineDto",
    "SupplierInvoicePage",
    "SupplierInvoiceStateDto",
    "SupplierInvoiceWrite",
    "SupplierPaymentWrite",
    "SupplierPayments",
    "SupplierRefDto",
    "SupplierWrite",
    "Suppliers",
    "TokenProvider",
    "VismaActionUnknown",
    "VismaAuthError",
    "VismaClient",
    "VismaContractError",
    "VismaCredentials",
    "VismaCredentialsRefused",
    "VismaEndpoints",
    "VismaError",
    "VismaMetadataDto",
    "VismaPreconditionFailed",
    "VismaRateLimited",
    "VismaRecordDto",
    "VismaRecordIncomplete",
    "VismaRequestRejected",
    "VismaServerError",
    "VismaUnavailable",
    "company_client",
    "company_secrets",
    "format_visma_datetime",
    "load_companies_file",
]
