"""Typed async client for Visma.net ERP: tokens, paging, rate budget and typed errors.

Build it with an `httpx.AsyncClient` whose base URL is the API (live or sandbox);
nothing here knows which one it talks to.
"""

from visma_client.auth import TokenProvider
from visma_client.client import VismaClient, format_visma_datetime
from visma_client.config import DEFAULT_SCOPE, VismaCredentials, VismaEndpoints
from visma_client.entities import VISMA_ENTITIES, EntitySpec
from visma_client.errors import (
    VismaAuthError,
    VismaContractError,
    VismaError,
    VismaPreconditionFailed,
    VismaRateLimited,
    VismaRecordIncomplete,
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
    VismaRecordDto,
)

__all__ = [
    "DEFAULT_SCOPE",
    "VISMA_ENTITIES",
    "EntitySpec",
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
    "VismaRecordDto",
    "VismaRecordIncomplete",
    "VismaRequestRejected",
    "VismaUnavailable",
    "format_visma_datetime",
]
