"""Typed async client for Visma.net ERP: tokens, paging, rate budget and typed errors.

Build it with an `httpx.AsyncClient` whose base URL is the API (live or sandbox);
nothing here knows which one it talks to.
"""

from visma_client.auth import TokenProvider
from visma_client.client import VismaClient, format_visma_datetime
from visma_client.config import DEFAULT_SCOPE, VismaCredentials, VismaEndpoints
from visma_client.errors import (
    VismaAuthError,
    VismaContractError,
    VismaError,
    VismaPreconditionFailed,
    VismaRateLimited,
    VismaRequestRejected,
    VismaUnavailable,
)
from visma_client.models import (
    Page,
    SupplierInvoiceDto,
    SupplierInvoiceLineDto,
    SupplierInvoicePage,
    SupplierRefDto,
    VismaMetadataDto,
)

__all__ = [
    "DEFAULT_SCOPE",
    "Page",
    "SupplierInvoiceDto",
    "SupplierInvoiceLineDto",
    "SupplierInvoicePage",
    "SupplierRefDto",
    "TokenProvider",
    "VismaAuthError",
    "VismaClient",
    "VismaContractError",
    "VismaCredentials",
    "VismaEndpoints",
    "VismaError",
    "VismaMetadataDto",
    "VismaPreconditionFailed",
    "VismaRateLimited",
    "VismaRequestRejected",
    "VismaUnavailable",
    "format_visma_datetime",
]
