"""A typed httpx client for BILL's v3 API (vendors, bills, webhook subscriptions).

`BillClient` keeps one session per organization and stays within BILL's limits (logins,
calls an hour, 3 calls in flight); every failure is a `BillError` that says whether a
retry can help (see `bill_client.errors`)."""

from bill_client.client import (
    DEFAULT_BASE_URL,
    DEFAULT_EVENTS_BASE_URL,
    BillClient,
    LimitRetry,
    bill_time,
)
from bill_client.errors import (
    BillAuthError,
    BillError,
    BillKeyWithheld,
    BillNotFound,
    BillRateLimited,
    BillUnavailable,
    BillUnreadable,
    BillValidationError,
)
from bill_client.models import (
    BillBill,
    BillClassifications,
    BillCredentials,
    BillInvoice,
    BillLineItem,
    BillSubscription,
    BillVendor,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_EVENTS_BASE_URL",
    "BillAuthError",
    "BillBill",
    "BillClassifications",
    "BillClient",
    "BillCredentials",
    "BillError",
    "BillInvoice",
    "BillKeyWithheld",
    "BillLineItem",
    "BillNotFound",
    "BillRateLimited",
    "BillSubscription",
    "BillUnavailable",
    "BillUnreadable",
    "BillValidationError",
    "BillVendor",
    "LimitRetry",
    "bill_time",
]
